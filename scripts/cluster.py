#!/usr/bin/env python3
"""A real local OpenSearch cluster on loopback, for trying Stichwort's OpenSearch backend and for its tests.

    scripts/cluster start [--nodes 3] [--base-port 9200] [--dir DIR] [--heap 512m] [--fresh]
    scripts/cluster status [--json]        # exit 0 when the cluster answers, 1 when not
    scripts/cluster stop [--grace 30] [--wipe]
    scripts/cluster kill-node N            # SIGKILL node N (1-based), for failure tests
    scripts/cluster restart-node N         # start node N again and wait until it has rejoined
    scripts/cluster url                    # the URLs, comma-separated (STICHWORT_OPENSEARCH_URL)
    scripts/cluster install [--force]      # only fetch the distribution (scripts/opensearch/pom.xml)
    scripts/cluster selftest               # the features the backend needs, and a node kill (clusterlib/selftest.py)

What runs: the minimal OpenSearch distribution that OpenSearch publishes to Maven Central for
integration tests (``org.opensearch.distribution.integ-test-zip:opensearch:<version>:zip``: the
server, Lucene and transport-netty4, no security plugin, no JDK) plus the ``analysis-common``
module from its Maven Central jar, both fetched by ``scripts/opensearch/pom.xml`` into the
git-ignored ``.cache/opensearch/opensearch-<version>/``.  Each node is that distribution's own
``bin/opensearch``, started with a configuration directory of its own under the cluster directory
(default ``.cache/opensearch/cluster``):

    DIR/cluster.json           state: version, nodes, URLs, pids (what a test fixture reads)
    DIR/node-N/config/         opensearch.yml (written here on every start), jvm.options (the
                               distribution's, with our heap and absolute log paths), log4j2.properties
    DIR/node-N/data/, logs/    path.data and path.logs (logs/console.log: the node's stdout and stderr)
    DIR/node-N/pid             the node's pid (bin/opensearch execs the JVM, so it is the JVM's)

Nodes bind and publish 127.0.0.1 only (``network.host``; OpenSearch's own default ``_local_`` would
also bind ``[::1]``), node N on HTTP port base+N-1 and transport port base+100+N-1, discover each
other through those transport ports, and bootstrap with all N names as
``cluster.initial_cluster_manager_nodes``.  Disk watermarks are set in free bytes (2 GB / 1 GB /
500 MB) instead of the default 85/90/95 %, so a fairly full disk does not make the cluster refuse
shards or writes; ``action.auto_create_index`` allows only dot-prefixed (system) indices, so a
write to a missing index fails instead of creating it with dynamic mappings.  ``--setting KEY=VALUE``
adds or overrides any node setting.

OpenSearch refuses to run as root ("can not run opensearch as root"): run as root (as on this
project's machines and in CI), the nodes run as the unprivileged system user ``stichwort-opensearch``
(``--user``), which is created with ``useradd --system`` when missing; the node directories are
handed to it, the distribution stays root's and only needs to be readable.

Java: ``--java-home``, else ``$OPENSEARCH_JAVA_HOME``, else ``$JAVA_HOME``, else the ``java`` on
PATH; OpenSearch 3.x needs Java 21+, and ``/usr/lib/jvm/temurin-25-jdk-amd64`` is taken for it when
the default is older.  Tested: 2.19.6 (the default, Java 17) and 3.3.2 (``--version 3.3.2``, Java 25);
Maven Central has no integ-test zip of 3.9.0.

Each node: ``-Xms512m -Xmx512m`` (``--heap``; the distribution pre-touches the heap, so a node holds
~0.7 GB RSS from the start); three nodes share 2 cores here and take 20-30 s to reach green.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from clusterlib import http  # noqa: E402

DEFAULT_VERSION = "2.19.6"
CACHE = ROOT / ".cache" / "opensearch"
DEFAULT_DIR = CACHE / "cluster"
POM = HERE / "opensearch" / "pom.xml"
CLUSTER_NAME = "stichwort-local"
JAVA25 = Path("/usr/lib/jvm/temurin-25-jdk-amd64")
STATE = "cluster.json"
TRANSPORT_OFFSET = 100
NODE_USER = "stichwort-opensearch"


class ClusterError(Exception):
    """A failure with a message for the user (exit status 1)."""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- install


def opensearch_home(version: str) -> Path:
    return CACHE / f"opensearch-{version}"


def install_stamp(version: str) -> str:
    """Changes when the pom or our module descriptor does: the install is then done again."""
    import hashlib
    h = hashlib.sha256(version.encode())
    for path in sorted((HERE / "opensearch").rglob("*")):
        if path.is_file():
            h.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def installed(version: str) -> bool:
    home = opensearch_home(version)
    try:
        if (home / ".stichwort-install").read_text().strip() != install_stamp(version):
            return False
    except OSError:
        return False
    return all(p.exists() for p in (
        home / "bin" / "opensearch",
        home / "lib" / f"opensearch-{version}.jar",
        home / "modules" / "transport-netty4" / "plugin-descriptor.properties",
        home / "modules" / "analysis-common" / f"analysis-common-{version}.jar",
        home / "modules" / "analysis-common" / "plugin-descriptor.properties",
    ))


def install(version: str, force: bool = False) -> Path:
    """Fetch the distribution through the pom unless it is there already."""
    with locked(CACHE, f".install-{version}.lock"):
        return _install(version, force)


def _install(version: str, force: bool) -> Path:
    home = opensearch_home(version)
    if installed(version) and not force:
        readable(home)
        return home
    mvn = shutil.which("mvn")
    if not mvn:
        raise ClusterError("Maven (mvn) is not installed: it fetches OpenSearch from Maven Central "
                           "(apt-get install maven)")
    if force and home.exists():
        shutil.rmtree(home)
        shutil.rmtree(CACHE / "maven-target" / f"markers-{version}", ignore_errors=True)
    log(f"fetching OpenSearch {version} (integ-test zip + analysis-common) through {POM.relative_to(ROOT)} ...")
    t0 = time.monotonic()
    cmd = [mvn, "-B", "-q", "-f", str(POM), f"-Dopensearch.version={version}"]
    if int(version.split(".")[0]) >= 3:  # the module's plugin class was renamed in 3.0, which needs Java 21
        cmd += ["-Danalysis.common.classname=org.opensearch.analysis.common.CommonAnalysisModulePlugin",
                "-Danalysis.common.java.version=21"]
    cmd.append("package")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == 0:
        (home / ".stichwort-install").write_text(install_stamp(version) + "\n")
    if proc.returncode != 0 or not installed(version):
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise ClusterError(f"fetching OpenSearch {version} failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    readable(home)
    log(f"  installed in {home.relative_to(ROOT)} ({time.monotonic() - t0:.1f} s)")
    return home


def readable(home: Path) -> None:
    """The zip's config files are rw-rw----: make the distribution readable by everyone, so that nodes
    run as another user than the one that installed it can copy them (nodes never write to it)."""
    for path in [home, *home.rglob("*")]:
        with contextlib.suppress(OSError):
            mode = path.lstat().st_mode
            want = mode | (0o555 if path.is_dir() else 0o444)
            if want != mode and not path.is_symlink():
                path.chmod(want)


# ---------------------------------------------------------------- java


def java_major(java_home: Path) -> int | None:
    try:
        out = subprocess.run([str(java_home / "bin" / "java"), "-version"], capture_output=True,
                             text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def find_java(version: str, explicit: str | None) -> Path:
    need = 21 if int(version.split(".")[0]) >= 3 else 11
    candidates: list[tuple[str, Path]] = []
    if explicit:
        candidates.append(("--java-home", Path(explicit)))
    else:
        for var in ("OPENSEARCH_JAVA_HOME", "JAVA_HOME"):
            if os.environ.get(var):
                candidates.append((f"${var}", Path(os.environ[var])))
        java = shutil.which("java")
        if java:
            candidates.append(("java on PATH", Path(os.path.realpath(java)).parent.parent))
        if JAVA25.exists():
            candidates.append(("temurin 25", JAVA25))
    tried = []
    for origin, home in candidates:
        major = java_major(home)
        tried.append(f"{origin} {home} (Java {major or '?'})")
        if major and major >= need:
            return home
        if explicit:
            break
    raise ClusterError(f"OpenSearch {version} needs Java {need}+; tried: {'; '.join(tried) or 'nothing found'}")


# ---------------------------------------------------------------- the user the nodes run as


def node_user(name: str | None) -> dict | None:
    """None when we are not root (the nodes run as we do); else the unprivileged user for the nodes,
    created when missing."""
    if os.geteuid() != 0:
        return None
    import pwd
    name = name or os.environ.get("STICHWORT_CLUSTER_USER") or NODE_USER
    try:
        return _user_entry(pwd.getpwnam(name))
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    log(f"OpenSearch does not run as root: creating the system user {name} for the nodes ...")
    proc = subprocess.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                           "--shell", "/usr/sbin/nologin", "--comment", "Stichwort local OpenSearch nodes", name],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise ClusterError(f"OpenSearch refuses to run as root and creating the user {name} failed: "
                           f"{proc.stderr.strip()} (pass --user with an existing unprivileged user)")
    return _user_entry(pwd.getpwnam(name))


def _user_entry(entry) -> dict:
    if entry.pw_uid == 0:
        raise ClusterError(f"--user {entry.pw_name} is root; OpenSearch refuses to run as root")
    return {"name": entry.pw_name, "uid": entry.pw_uid, "gid": entry.pw_gid}


def check_readable(user: dict | None, paths: list[Path]) -> None:
    """The node user must reach the distribution and the JDK (every parent directory traversable)."""
    if not user:
        return
    for path in paths:
        proc = subprocess.run(["test", "-r", str(path)], user=user["uid"], group=user["gid"], extra_groups=[])
        if proc.returncode != 0:
            raise ClusterError(f"the node user {user['name']} cannot read {path}: a parent directory is not "
                               f"world-traversable (chmod o+x), or use another --dir / checkout location")


def hand_over(path: Path, user: dict | None) -> None:
    if not user:
        return
    for dirpath, _dirnames, filenames in os.walk(path):
        os.chown(dirpath, user["uid"], user["gid"])
        for name in filenames:
            with contextlib.suppress(FileNotFoundError):
                os.chown(os.path.join(dirpath, name), user["uid"], user["gid"], follow_symlinks=False)


# ---------------------------------------------------------------- state and processes


def load_state(cdir: Path) -> dict | None:
    try:
        return json.loads((cdir / STATE).read_text())
    except (OSError, ValueError):
        return None


def save_state(cdir: Path, state: dict) -> None:
    tmp = cdir / (STATE + ".tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    tmp.replace(cdir / STATE)


@contextlib.contextmanager
def locked(cdir: Path, name: str = ".lock"):
    """One scripts/cluster at a time per cluster directory (and per install)."""
    cdir.mkdir(parents=True, exist_ok=True)
    with open(cdir / name, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for another scripts/cluster on {cdir / name} ...")
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def node_dir(cdir: Path, i: int) -> Path:
    return cdir / f"node-{i}"


def read_pid(cdir: Path, i: int) -> int | None:
    try:
        return int((node_dir(cdir, i) / "pid").read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, ndir: Path | None = None) -> bool:
    """True when pid runs (not a zombie) and, given ndir, is the OpenSearch of that node directory
    (a pid file that outlived its process must not make us signal whatever reuses the number)."""
    if not pid:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
            return False
        if ndir is not None:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            conf = f"OPENSEARCH_PATH_CONF={ndir / 'config'}".encode()
            return conf in environ or str(ndir / "config") in cmdline
        return True
    except (OSError, IndexError):
        return False


def rss_mb(pid: int) -> dict:
    out: dict = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024)
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["pss_mb"] = round(int(line.split()[1]) / 1024)
    return out


def port_in_use(port: int) -> bool:
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    """The end of a node's console log since its last start, the exception lines (the reason) first."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 256 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    last = text.rsplit("===== scripts/cluster: starting", 1)
    block = ("===== scripts/cluster: starting" + last[1]) if len(last) == 2 else text
    all_lines = block.splitlines()
    reasons: list[str] = []
    for line in all_lines:
        if re.match(r"^(\S+(Exception|Error)\b|Caused by: |ERROR: |could not find java|\[[^]]+\]\[ERROR)", line) \
                and line not in reasons:
            reasons.append(line)
    out = all_lines[-lines:]
    if reasons:
        out = ["reason:"] + [f"  {r[:400]}" for r in reasons[:4]] + ["last lines:"] + out
    return "\n".join(out)


# ---------------------------------------------------------------- configuration


def new_state(cdir: Path, version: str, nodes: int, base_port: int, heap: str, java_home: Path,
              settings: dict[str, str], user: dict | None) -> dict:
    members = []
    for i in range(1, nodes + 1):
        http_port = base_port + i - 1
        members.append({
            "name": f"node-{i}",
            "http_port": http_port,
            "transport_port": base_port + TRANSPORT_OFFSET + i - 1,
            "url": f"http://127.0.0.1:{http_port}",
            "dir": str(node_dir(cdir, i)),
            "log": str(node_dir(cdir, i) / "logs" / "console.log"),
            "pid": None,
        })
    return {
        "cluster_name": CLUSTER_NAME,
        "version": version,
        "opensearch_home": str(opensearch_home(version)),
        "java_home": str(java_home),
        "heap": heap,
        "base_port": base_port,
        "nodes": members,
        "urls": [m["url"] for m in members],
        "url": members[0]["url"],
        "settings": settings,
        "user": user,
        "running": False,
    }


def node_settings(state: dict, i: int) -> dict:
    member = state["nodes"][i - 1]
    ndir = Path(member["dir"])
    settings: dict = {
        "cluster.name": state["cluster_name"],
        "node.name": member["name"],
        "path.data": str(ndir / "data"),
        "path.logs": str(ndir / "logs"),
        # bind and publish loopback only; the default (_local_) binds [::1] too
        "network.host": "127.0.0.1",
        "http.port": member["http_port"],
        "transport.port": member["transport_port"],
        "discovery.seed_hosts": [f"127.0.0.1:{m['transport_port']}" for m in state["nodes"]],
        "cluster.initial_cluster_manager_nodes": [m["name"] for m in state["nodes"]],
        # free-space watermarks instead of 85/90/95 % of the disk: a big, fairly full disk still takes shards and writes
        "cluster.routing.allocation.disk.watermark.low": "2gb",
        "cluster.routing.allocation.disk.watermark.high": "1gb",
        "cluster.routing.allocation.disk.watermark.flood_stage": "500mb",
        # the backend creates its index with explicit mappings: a write to a missing index must fail,
        # not create one with dynamic mappings (dot-prefixed system indices may still be created)
        "action.auto_create_index": "+.*,-*",
        "action.destructive_requires_name": True,
    }
    for key, value in state.get("settings", {}).items():
        settings[key] = _yaml_value(value)
    return settings


def _yaml_value(text: str):
    """--setting values: JSON when it parses (true, 3, ["a","b"]), else the plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def write_node_config(state: dict, i: int) -> Path:
    """The node's config directory: the distribution's files, our opensearch.yml and jvm.options."""
    member = state["nodes"][i - 1]
    ndir = Path(member["dir"])
    home = Path(state["opensearch_home"])
    conf, logs = ndir / "config", ndir / "logs"
    for d in (conf, logs, ndir / "data", ndir / "tmp"):
        d.mkdir(parents=True, exist_ok=True)
    for src in (home / "config").iterdir():
        if src.name in ("opensearch.yml", "jvm.options"):
            continue
        dst = conf / src.name
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    lines = ["# written by scripts/cluster on every start of this node; edit scripts/cluster.py or pass "
             "--setting KEY=VALUE", ""]
    lines += [f"{key}: {json.dumps(value)}" for key, value in node_settings(state, i).items()]
    (conf / "opensearch.yml").write_text("\n".join(lines) + "\n")
    (conf / "jvm.options").write_text(jvm_options((home / "config" / "jvm.options").read_text(), state["heap"], logs))
    hand_over(ndir, state.get("user"))
    return conf


def jvm_options(text: str, heap: str, logs: Path) -> str:
    """The distribution's jvm.options with our heap, and its relative paths (resolved against the shared
    OPENSEARCH_HOME, where every node would write the same gc.log) made absolute to the node's logs."""
    out = []
    for line in text.splitlines():
        bare = line.split(":", 1)[1] if re.match(r"^\d+(-\d*)?:", line) else line
        if bare.startswith("-Xms"):
            line = f"-Xms{heap}"
        elif bare.startswith("-Xmx"):
            line = f"-Xmx{heap}"
        elif bare.startswith("-XX:HeapDumpPath="):
            line = line.replace(bare, f"-XX:HeapDumpPath={logs}")
        elif bare.startswith("-XX:ErrorFile="):
            line = line.replace(bare, f"-XX:ErrorFile={logs}/hs_err_pid%p.log")
        elif bare.startswith("-Xlog:gc") or bare.startswith("-Xloggc:"):
            new = bare.replace("file=logs/", f"file={logs}/").replace("-Xloggc:logs/", f"-Xloggc:{logs}/")
            new = re.sub(r"filecount=\d+,filesize=\w+", "filecount=2,filesize=16m", new)
            line = line.replace(bare, new)
        out.append(line)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- start / wait / stop


def start_node(state: dict, i: int) -> int:
    member = state["nodes"][i - 1]
    ndir = Path(member["dir"])
    conf = write_node_config(state, i)
    env = {k: v for k, v in os.environ.items()
           if k not in ("JAVA_TOOL_OPTIONS", "JAVA_OPTS", "OPENSEARCH_JAVA_OPTS", "_JAVA_OPTIONS")}
    env.update(OPENSEARCH_JAVA_HOME=state["java_home"], OPENSEARCH_PATH_CONF=str(conf),
               OPENSEARCH_TMPDIR=str(ndir / "tmp"))
    env.pop("JAVA_HOME", None)
    user = state.get("user")
    if user:
        env.update(HOME=str(ndir), USER=user["name"], LOGNAME=user["name"])
    logf = open(ndir / "logs" / "console.log", "ab")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    logf.write(f"\n===== scripts/cluster: starting {member['name']} at {stamp} =====\n".encode())
    logf.flush()
    proc = subprocess.Popen([str(Path(state["opensearch_home"]) / "bin" / "opensearch")],
                            cwd=ndir, env=env, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                            start_new_session=True, close_fds=True,
                            **({"user": user["uid"], "group": user["gid"], "extra_groups": []} if user else {}))
    logf.close()
    (ndir / "pid").write_text(f"{proc.pid}\n")
    member["pid"] = proc.pid
    return proc.pid


def health(urls: list[str], timeout: float = 3.0) -> dict | None:
    for url in urls:
        h = http.try_get(f"{url}/_cluster/health", timeout=timeout)
        if isinstance(h, dict) and "status" in h:
            h["_via"] = url
            return h
    return None


def wait_healthy(state: dict, cdir: Path, watch: list[int], want_nodes: int, want_status: str,
                 timeout: float, t0: float) -> dict:
    """Poll until want_nodes nodes have joined at want_status (or better); fail early, with the log tail,
    when a node in watch exits."""
    order = {"red": 0, "yellow": 1, "green": 2}
    urls = [state["nodes"][i - 1]["url"] for i in range(1, len(state["nodes"]) + 1)]
    last = None
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        for i in watch:
            member = state["nodes"][i - 1]
            if not alive(member["pid"]):
                raise ClusterError(f"{member['name']} exited during startup; the end of {member['log']}:\n"
                                   f"{tail(Path(member['log']))}")
        last = health(urls, timeout=2.0)
        if last and last["number_of_nodes"] >= want_nodes and order[last["status"]] >= order[want_status]:
            return last
        time.sleep(0.5)
    seen = f"last health: {json.dumps({k: v for k, v in last.items() if not k.startswith('_')})}" if last \
        else "no node answered HTTP"
    msgs = [f"the cluster did not reach {want_status} with {want_nodes} node(s) within {timeout:.0f} s ({seen})"]
    for i in watch:
        member = state["nodes"][i - 1]
        up = http.try_get(member["url"], timeout=1.0) is not None
        msgs.append(f"--- {member['name']} ({'answers HTTP' if up else 'no HTTP answer'}), "
                    f"end of {member['log']}:\n{tail(Path(member['log']), 25)}")
    raise ClusterError("\n".join(msgs))


def signal_nodes(state: dict, cdir: Path, indexes: list[int], grace: float) -> list[str]:
    """SIGTERM the nodes, wait up to grace seconds, SIGKILL what is left; returns what happened."""
    report = []
    targets = {}
    for i in indexes:
        pid = read_pid(cdir, i) or state["nodes"][i - 1].get("pid")
        if alive(pid, node_dir(cdir, i)):
            targets[i] = pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while targets and time.monotonic() < deadline:
        if not any(alive(pid) for pid in targets.values()):
            break
        time.sleep(0.2)
    for i, pid in targets.items():
        if alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            report.append(f"node-{i} (pid {pid}) killed after {grace:.0f} s")
        else:
            report.append(f"node-{i} (pid {pid}) stopped")
    for pid in targets.values():
        for _ in range(50):
            if not alive(pid):
                break
            time.sleep(0.1)
    for i in indexes:
        with contextlib.suppress(FileNotFoundError):
            (node_dir(cdir, i) / "pid").unlink()
        state["nodes"][i - 1]["pid"] = None
    return report


def cmd_start(args) -> int:
    cdir = Path(args.dir).resolve()
    with locked(cdir):
        state = load_state(cdir)
        has_data = any((node_dir(cdir, i) / "data" / "nodes").exists() for i in range(1, 64))
        if state and any(alive(m.get("pid"), Path(m["dir"])) for m in state["nodes"]):
            asked = {"nodes": args.nodes, "base_port": args.base_port, "version": args.version}
            have = {"nodes": len(state["nodes"]), "base_port": state["base_port"], "version": state["version"]}
            for key, value in asked.items():
                if value is not None and value != have[key]:
                    raise ClusterError(f"a cluster with {key}={have[key]} is running in {cdir}; "
                                       f"stop it first (scripts/cluster stop --dir {args.dir})")
            if args.fresh:
                raise ClusterError(f"--fresh: the cluster in {cdir} is running; stop it first")
        if args.fresh:
            for i in range(1, 64):
                shutil.rmtree(node_dir(cdir, i), ignore_errors=True)
            (cdir / STATE).unlink(missing_ok=True)
            state, has_data = None, False
        version = args.version or (state or {}).get("version") or os.environ.get("STICHWORT_OPENSEARCH_VERSION") \
            or DEFAULT_VERSION
        nodes = args.nodes or (state and len(state["nodes"])) or 3
        base_port = args.base_port or (state or {}).get("base_port") or 9200
        if state and has_data and (len(state["nodes"]) != nodes or state["version"] != version
                                   or state["base_port"] != base_port):
            raise ClusterError(f"{cdir} holds the data of a cluster of {len(state['nodes'])} node(s), OpenSearch "
                               f"{state['version']}, base port {state['base_port']}: start it as it was, "
                               f"or wipe it with --fresh, or use another --dir")
        if not state and has_data:
            raise ClusterError(f"{cdir} has node data but no {STATE}: wipe it with --fresh or use another --dir")
        if nodes < 1 or nodes > 9:
            raise ClusterError("--nodes must be 1..9")
        home = install(version)
        java_home = find_java(version, args.java_home)
        user = node_user(args.user or ((state or {}).get("user") or {}).get("name"))
        if user:
            cdir.chmod(0o755)
        check_readable(user, [home / "bin" / "opensearch", home / "lib" / f"opensearch-{version}.jar",
                              java_home / "bin" / "java", cdir])
        running = bool(state) and any(alive(m.get("pid"), Path(m["dir"])) for m in state["nodes"])
        # this start's --setting values (kept in the state for restart-node); nodes that still run keep theirs
        settings: dict[str, str] = dict(state.get("settings", {})) if running and not args.setting else {}
        for item in args.setting or []:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ClusterError(f"--setting wants KEY=VALUE, got {item!r}")
            settings[key.strip()] = value.strip()
        fresh_state = new_state(cdir, version, nodes, base_port, args.heap or (state or {}).get("heap") or "512m",
                                java_home, settings, user)
        if state:  # keep the pids of the nodes that still run
            for m_old, m_new in zip(state["nodes"], fresh_state["nodes"]):
                m_new["pid"] = m_old.get("pid") if alive(m_old.get("pid"), Path(m_old["dir"])) else None
        state = fresh_state
        to_start = [i for i in range(1, nodes + 1) if not state["nodes"][i - 1]["pid"]]
        if not to_start:
            h = health(state["urls"])
            log(f"already running: {nodes} node(s), {h['status'] if h else 'no health answer'}")
            state["running"] = True
            save_state(cdir, state)
            print_urls(state, cdir)
            return 0
        for i in to_start:
            m = state["nodes"][i - 1]
            for port in (m["http_port"], m["transport_port"]):
                if port_in_use(port):
                    raise ClusterError(f"port {port} on 127.0.0.1 (for {m['name']}) is in use (another program, "
                                       f"or a cluster in another --dir); choose another --base-port")
        log(f"starting {len(to_start)} of {nodes} OpenSearch {version} node(s) on 127.0.0.1 "
            f"(HTTP {base_port}..{base_port + nodes - 1}, heap {state['heap']}, Java {java_major(java_home)} "
            f"from {java_home}, home {Path(home).relative_to(ROOT) if Path(home).is_relative_to(ROOT) else home}) ...")
        t0 = time.monotonic()
        try:
            for i in to_start:
                start_node(state, i)
            state["running"] = True
            save_state(cdir, state)
            want = args.wait_for or ("green" if nodes > 1 else "yellow")
            h = wait_healthy(state, cdir, to_start, nodes, want, args.timeout, t0)
            check_loopback(state)
        except (ClusterError, KeyboardInterrupt):
            if not args.keep_on_failure:
                log("stopping the nodes that were started ...")
                signal_nodes(state, cdir, to_start, grace=10)
                state["running"] = any(m["pid"] for m in state["nodes"])
                save_state(cdir, state)
            raise
        state["started_seconds"] = round(time.monotonic() - t0, 1)
        state["started_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        save_state(cdir, state)
        log(f"cluster {h['cluster_name']} {h['status']} with {h['number_of_nodes']} node(s) "
            f"after {state['started_seconds']} s")
        print_urls(state, cdir)
        return 0


def check_loopback(state: dict) -> None:
    """Every bound address must be loopback: refuse to leave a node listening elsewhere."""
    info = health(state["urls"])
    info = http.try_get(f"{info['_via']}/_nodes/http,transport", timeout=5) if info else None
    if not isinstance(info, dict):
        raise ClusterError("could not read the nodes' bound addresses (GET /_nodes/http,transport)")
    bad = []
    for node in info.get("nodes", {}).values():
        for kind in ("http", "transport"):
            for addr in node.get(kind, {}).get("bound_address", []):
                host = addr.rsplit(":", 1)[0].strip("[]")
                if not (host.startswith("127.") or host == "::1"):
                    bad.append(f"{node.get('name')} {kind} {addr}")
    if bad:
        raise ClusterError("nodes are bound to non-loopback addresses: " + ", ".join(bad))


def print_urls(state: dict, cdir: Path) -> None:
    log(f"state: {cdir / STATE}")
    for m in state["nodes"]:
        log(f"  {m['name']}: {m['url']}  (pid {m['pid']}, log {m['log']})")
    print(f"STICHWORT_OPENSEARCH_URL={','.join(state['urls'])}")


def require_state(args) -> tuple[Path, dict]:
    cdir = Path(args.dir).resolve()
    state = load_state(cdir)
    if not state:
        raise ClusterError(f"no cluster in {cdir} (no {STATE}); start one with scripts/cluster start")
    return cdir, state


def cmd_stop(args) -> int:
    cdir = Path(args.dir).resolve()
    with locked(cdir):
        state = load_state(cdir)
        if not state:
            log(f"no cluster in {cdir}")
            return 0
        indexes = list(range(1, len(state["nodes"]) + 1))
        report = signal_nodes(state, cdir, indexes, args.grace)
        state["running"] = False
        save_state(cdir, state)
        log("; ".join(report) if report else "no node was running")
        if args.wipe:
            for i in indexes:
                shutil.rmtree(node_dir(cdir, i), ignore_errors=True)
            (cdir / STATE).unlink(missing_ok=True)
            log(f"wiped {cdir}")
    return 0


def cmd_kill_node(args) -> int:
    cdir, state = require_state(args)
    i = check_index(args.node, state)
    with locked(cdir):
        pid = read_pid(cdir, i)
        if not alive(pid, node_dir(cdir, i)):
            raise ClusterError(f"node-{i} is not running")
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        while alive(pid) and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        (node_dir(cdir, i) / "pid").unlink(missing_ok=True)
        state["nodes"][i - 1]["pid"] = None
        save_state(cdir, state)
        log(f"node-{i} (pid {pid}) killed with SIGKILL")
    if args.no_wait:
        return 0
    others = [m["url"] for j, m in enumerate(state["nodes"], 1) if j != i and m["pid"]]
    want = sum(1 for m in state["nodes"] if m["pid"])
    t0 = time.monotonic()
    h = http.wait_until(lambda: (lambda x: x if x and x["number_of_nodes"] == want else None)(health(others, 2.0)),
                        timeout=args.timeout)
    if h:
        log(f"cluster sees {h['number_of_nodes']} node(s) after {time.monotonic() - t0:.1f} s: {h['status']}, "
            f"{h['unassigned_shards']} unassigned shard(s)")
    else:
        log(f"the remaining nodes did not report {want} node(s) within {args.timeout:.0f} s")
        return 1
    return 0


def cmd_restart_node(args) -> int:
    cdir, state = require_state(args)
    i = check_index(args.node, state)
    with locked(cdir):
        if alive(read_pid(cdir, i), node_dir(cdir, i)):
            raise ClusterError(f"node-{i} is running (pid {read_pid(cdir, i)}); kill-node it first")
        for port in (state["nodes"][i - 1]["http_port"], state["nodes"][i - 1]["transport_port"]):
            if port_in_use(port):
                raise ClusterError(f"port {port} is in use by another program")
        for j, m in enumerate(state["nodes"], 1):
            m["pid"] = read_pid(cdir, j) if alive(read_pid(cdir, j), node_dir(cdir, j)) else None
        t0 = time.monotonic()
        start_node(state, i)
        state["running"] = True
        save_state(cdir, state)
        want_nodes = sum(1 for m in state["nodes"] if m["pid"])
        want = args.wait_for or ("green" if want_nodes == len(state["nodes"]) and want_nodes > 1 else "yellow")
        h = wait_healthy(state, cdir, [i], want_nodes, want, args.timeout, t0)
        log(f"node-{i} rejoined: {h['status']} with {h['number_of_nodes']} node(s) after {time.monotonic() - t0:.1f} s")
    return 0


def check_index(n: int, state: dict) -> int:
    if not 1 <= n <= len(state["nodes"]):
        raise ClusterError(f"no node {n}: the cluster has nodes 1..{len(state['nodes'])}")
    return n


def cmd_status(args) -> int:
    cdir = Path(args.dir).resolve()
    state = load_state(cdir)
    if not state:
        if args.json:
            print(json.dumps({"up": False, "dir": str(cdir), "reason": f"no {STATE}"}))
        else:
            log(f"no cluster in {cdir}")
        return 1
    h = health(state["urls"])
    rows = []
    cat = None
    if h:
        cat = http.try_get(f"{h['_via']}/_cat/nodes?format=json&h=name,ip,node.role,cluster_manager,heap.percent,"
                           f"heap.max,ram.current,cpu,load_1m,version", timeout=5)
    by_name = {c.get("name"): c for c in cat} if isinstance(cat, list) else {}
    for j, m in enumerate(state["nodes"], 1):
        pid = read_pid(cdir, j)
        up = alive(pid, node_dir(cdir, j))
        row = {"name": m["name"], "url": m["url"], "pid": pid if up else None, "process": "running" if up else "down",
               "in_cluster": m["name"] in by_name, **(rss_mb(pid) if up else {})}
        c = by_name.get(m["name"])
        if c:
            row.update({"roles": c.get("node.role"), "cluster_manager": c.get("cluster_manager") == "*",
                        "heap_percent": c.get("heap.percent"), "heap_max": c.get("heap.max"),
                        "version": c.get("version")})
        rows.append(row)
    out = {"up": bool(h), "dir": str(cdir), "version": state["version"], "urls": state["urls"],
           "health": {k: v for k, v in (h or {}).items() if not k.startswith("_")}, "nodes": rows}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0 if h else 1
    if h:
        print(f"cluster {h['cluster_name']} (OpenSearch {state['version']}): {h['status']}, "
              f"{h['number_of_nodes']}/{len(state['nodes'])} node(s), {h['active_primary_shards']} primary / "
              f"{h['active_shards']} active shard(s), {h['unassigned_shards']} unassigned, "
              f"{h['relocating_shards']} relocating, {h['initializing_shards']} initializing")
    else:
        print(f"cluster in {cdir} is not up (no node answers: {', '.join(state['urls'])})")
    print(f"{'node':8} {'url':24} {'pid':>8} {'process':8} {'joined':6} {'manager':7} {'heap%':>5} {'rss MB':>7}")
    for r in rows:
        print(f"{r['name']:8} {r['url']:24} {str(r['pid'] or '-'):>8} {r['process']:8} "
              f"{'yes' if r['in_cluster'] else 'no':6} {'*' if r.get('cluster_manager') else '':7} "
              f"{str(r.get('heap_percent') or '-'):>5} {str(r.get('rss_mb') or '-'):>7}")
    return 0 if h else 1


def cmd_url(args) -> int:
    _cdir, state = require_state(args)
    print(",".join(state["urls"]))
    return 0


def cmd_install(args) -> int:
    home = install(args.version or DEFAULT_VERSION, force=args.force)
    print(home)
    return 0


def cmd_selftest(args) -> int:
    from clusterlib import selftest
    return selftest.main(args, sys.modules[__name__])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--dir", default=os.environ.get("STICHWORT_CLUSTER_DIR") or str(DEFAULT_DIR),
                       help="cluster directory (default: $STICHWORT_CLUSTER_DIR or .cache/opensearch/cluster)")
        return p

    def starting(p):
        p.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for health (default 180)")
        p.add_argument("--wait-for", choices=("yellow", "green"),
                       help="health to wait for (default: green with several nodes, yellow with one)")
        return p

    p = starting(common(sub.add_parser("start", help="install if missing, start the nodes, wait for health")))
    p.add_argument("--nodes", type=int, help="number of nodes (default 3, or as the cluster directory was created)")
    p.add_argument("--base-port", type=int, help="HTTP port of node 1 (default 9200); transport ports from base+100")
    p.add_argument("--heap", help="heap per node, -Xms = -Xmx (default 512m)")
    p.add_argument("--version", help=f"OpenSearch version (default $STICHWORT_OPENSEARCH_VERSION or {DEFAULT_VERSION})")
    p.add_argument("--java-home", help="JDK to run the nodes with")
    p.add_argument("--user", help=f"when run as root: the unprivileged user the nodes run as (default {NODE_USER})")
    p.add_argument("--setting", action="append", metavar="KEY=VALUE",
                   help="extra node setting (repeatable; for this start and restart-node)")
    p.add_argument("--fresh", action="store_true", help="wipe the cluster directory's data first")
    p.add_argument("--keep-on-failure", action="store_true", help="leave started nodes running when startup fails")
    p.set_defaults(func=cmd_start)
    p = common(sub.add_parser("stop", help="SIGTERM every node, SIGKILL after --grace seconds"))
    p.add_argument("--grace", type=float, default=30.0)
    p.add_argument("--wipe", action="store_true", help="also delete the nodes' data, logs and the state file")
    p.set_defaults(func=cmd_stop)
    p = common(sub.add_parser("status", help="health and nodes; exit 0 when up, 1 when not"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)
    p = common(sub.add_parser("kill-node", help="SIGKILL node N (1-based)"))
    p.add_argument("node", type=int)
    p.add_argument("--no-wait", action="store_true", help="do not wait for the other nodes to notice")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(func=cmd_kill_node)
    p = starting(common(sub.add_parser("restart-node", help="start node N again and wait until it rejoined")))
    p.add_argument("node", type=int)
    p.set_defaults(func=cmd_restart_node)
    p = common(sub.add_parser("url", help="print the node URLs, comma-separated"))
    p.set_defaults(func=cmd_url)
    p = sub.add_parser("install", help="fetch the distribution into .cache/opensearch (needs Maven)")
    p.add_argument("--version")
    p.add_argument("--force", action="store_true", help="fetch and unpack again")
    p.set_defaults(func=cmd_install)
    p = common(sub.add_parser("selftest", help="check the features the backend needs, and a node kill"))
    p.add_argument("--base-port", type=int, default=None,
                   help="when no cluster runs in --dir: start one of 3 nodes here (default 9200), stopped afterwards")
    p.add_argument("--docs", type=int, default=12000, help="documents to bulk-index (default 12000)")
    p.add_argument("--no-kill", action="store_true", help="skip the node-failure part")
    p.add_argument("--keep", action="store_true", help="keep the test index (and a cluster selftest started)")
    p.add_argument("--verbose", action="store_true", help="print each request body")
    p.set_defaults(func=cmd_selftest)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return args.func(args)
    except ClusterError as exc:
        log(f"scripts/cluster {args.command}: {exc}")
        return 1
    except OSError as exc:
        log(f"scripts/cluster {args.command}: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
