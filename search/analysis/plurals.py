"""German nouns whose plural Snowball does not join to the singular.

Latin and Greek loanwords form their plural by replacing an ending: Zentrum →
Zentren, Museum → Museen, Virus → Viren, Thema → Themen, Konto → Konten,
Stadion → Stadien, Rassismus → Rassismen.  Snowball stems the singular and the
plural apart ("zentrum", "zentr"), so "Impfzentrum" missed every article that
says only "Impfzentren".  The German chain therefore writes a folded word that
ends in one of these singulars (or its genitive) as the plural before stemming,
and both forms get one term.  A compound ends in its head, so "Impfzentrum",
"Impfzentrums" and "Impfzentren" are one term as well.

The list is a reviewed one, not a rule: "Raum", "Irrtum" or "Euro" look like
such singulars and are not, and some real ones are left out on purpose because
their plural is a different, more frequent word: Datum/Daten (data), Studium/
Studien (studies), Praktikum/Praktiken (practices), Trauma/Träumen, Dosis/Dosen.
Words are folded (``german_fold``) when this runs: umlauts are plain vowels.
"""
from __future__ import annotations

#: Singular ending -> plural ending, for the word and for compounds with it as their head.
_SINGULAR_TO_PLURAL = {
    # -um -> -en
    **{s: s[:-2] + "en" for s in (
        "zentrum", "museum", "album", "forum", "gymnasium", "ministerium", "spektrum", "medium", "universum",
        "jubilaum", "referendum", "kriterium", "territorium", "individuum", "imperium", "stipendium", "gremium",
        "podium", "evangelium", "symposium", "aquarium", "votum", "serum", "kollegium", "mysterium", "ultimatum",
        "konsortium", "sanatorium", "laboratorium", "kolloquium", "prasidium", "observatorium", "mausoleum",
        "refugium", "provisorium", "bakterium", "krematorium", "kuratorium", "moratorium", "millennium", "quantum",
        "visum")},
    # -um -> -a; Visum has both plurals
    "antibiotikum": "antibiotika", "visa": "visen",
    # -us / -os -> -en
    **{s: s[:-2] + "en" for s in ("virus", "zyklus", "rhythmus", "algorithmus", "radius", "globus", "mythos",
                                  "epos")},
    # -a -> -en
    **{s: s[:-1] + "en" for s in ("thema", "firma", "drama", "villa", "pizza", "arena", "agenda", "skala", "sauna",
                                  "panorama", "aroma", "dogma", "prisma", "liga", "diva", "veranda", "madonna")},
    # -o -> -en, -on -> -ien / -a, -is -> -en
    "konto": "konten", "risiko": "risiken", "szenario": "szenarien", "saldo": "salden",
    "stadion": "stadien", "lexikon": "lexika", "basis": "basen", "praxis": "praxen",
}
#: With the genitive (and the plural in -s some of them also have): "Zentrums", "Kontos", "Dramas".
PLURAL_OF = {**_SINGULAR_TO_PLURAL,
             **{s + "s": p for s, p in _SINGULAR_TO_PLURAL.items() if s.endswith(("um", "on", "o", "a"))}}
#: Last two letters -> the lengths of the listed singulars ending in them, longest first: most words
#: are turned away by one look-up ("-ismus" ends in "us", which "virus" lists).
_LENGTHS_BY_END = {end: sorted({len(s) for s in PLURAL_OF if s.endswith(end)}, reverse=True)
                   for end in {s[-2:] for s in PLURAL_OF}}


def plural_form(word: str) -> str:
    """``word`` (folded, lower-case) with a listed singular at its end written as its plural; any -ismus as
    -ismen ("rassismus" -> "rassismen"); other words unchanged."""
    lengths = _LENGTHS_BY_END.get(word[-2:])
    if lengths is None:
        return word
    if word.endswith("ismus"):
        return word[:-5] + "ismen"
    for n in lengths:
        if n <= len(word):
            plural = PLURAL_OF.get(word[-n:])
            if plural is not None:
                return word[:-n] + plural
    return word
