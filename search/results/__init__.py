"""What a search returns besides the ranked ids: facets, highlights, suggestions, related coverage."""
