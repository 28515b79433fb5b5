"""Checks for the Asterisk side of Hotline (asterisk-conf/).

What is checked, and why each check would catch a regression:

* asterisklint reports nothing for extensions.conf (and does flag a broken copy,
  so a silent or mis-invoked linter cannot make the check pass);
* AMI, HTTP/ARI and the FastAGI target stay on loopback, AMI's ACL denies first;
* every queue the dialplan or a dialplans/*.yaml ``queue:`` node names exists
  in queues.conf, and ``general`` is never used as a queue;
* nothing reaches a shell, and caller-supplied strings are only read through
  FILTER(), before AGI sees them;
* every sound the confs play or announce is in Debian's asterisk-core-sounds-en
  (its file list is committed: tests/fixtures/asterisk/core-sounds-en.files);
* the transfer contract (IVR_OUTCOME / IVR_QUEUE / IVR_PRIORITY, AGISTATUS):
  a small model of the dialplan applications used in extensions.conf runs the
  real file through the cases in asterisk-conf/README.md. The model refuses
  any application or function it does not know, so new dialplan code must be
  modelled here before it can pass.

All tests are plain and synchronous; only asterisklint runs a subprocess.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = ROOT / "asterisk-conf"
EXTENSIONS = CONF_DIR / "extensions.conf"
DIALPLANS_DIR = ROOT / "dialplans"

HOTLINE_QUEUES = {
    "customer_service",
    "payments",
    "refunds",
    "card_services",
    "fraud_desk",
    "phone_change_review",
    "senior_agents",
}
DEFAULT_QUEUE = "customer_service"
# The only dynamic form Queue() may take: Hotline's IVR_QUEUE, filtered.
DYNAMIC_QUEUE_ARG = "${FILTER(a-z0-9_,${IVR_QUEUE})}"
QUEUE_NAME_RE = re.compile(r"^[a-z0-9_]+$")


# ---------------------------------------------------------------------------
# Asterisk config files: a small reader for the .conf format
# ---------------------------------------------------------------------------


def strip_comments(text: str) -> str:
    """Drop ``;`` comments (``\\;`` is a literal) and ``;-- ... --;`` blocks."""
    text = re.sub(r";--.*?--;", "", text, flags=re.DOTALL)
    lines = []
    for line in text.splitlines():
        lines.append(re.split(r"(?<!\\);", line, maxsplit=1)[0].rstrip())
    return "\n".join(lines)


@dataclass
class Section:
    name: str
    template: bool  # declared with "(!)": a template, not a real object
    parents: list[str] = field(default_factory=list)  # "[name](tpl)" inherits tpl
    items: list[tuple[str, str, int]] = field(default_factory=list)  # key, value, line

    def get(self, key: str) -> str | None:
        values = self.getall(key)
        return values[-1] if values else None

    def getall(self, key: str) -> list[str]:
        return [v for k, v, _ in self.items if k == key]


SECTION_RE = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
ITEM_RE = re.compile(r"^([A-Za-z0-9_.\-]+)\s*=>?\s*(.*)$")


def read_conf(path: Path) -> list[Section]:
    sections: list[Section] = []
    for lineno, line in enumerate(strip_comments(path.read_text()).splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):  # "#include" / "#exec": nothing shipped uses them
            raise AssertionError(f"{path.name}:{lineno}: unexpected directive {line!r}")
        if m := SECTION_RE.match(line):
            options = [o.strip() for o in (m.group(2) or "").split(",") if o.strip()]
            parents = [o for o in options if o != "!"]
            sections.append(Section(m.group(1).strip(), "!" in options, parents))
            continue
        m = ITEM_RE.match(line)
        assert m, f"{path.name}:{lineno}: cannot parse {line!r}"
        assert sections, f"{path.name}:{lineno}: setting outside any section"
        sections[-1].items.append((m.group(1).lower(), m.group(2).strip(), lineno))
    return sections


def section(sections: list[Section], name: str) -> Section:
    found = [s for s in sections if s.name == name]
    assert len(found) == 1, f"expected exactly one [{name}] section, found {len(found)}"
    return found[0]


def resolve(sections: list[Section], sec: Section) -> Section:
    """``sec`` with the settings of its templates in front (template inheritance)."""
    items: list[tuple[str, str, int]] = []
    for parent in sec.parents:
        templates = [s for s in sections if s.name == parent and s.template]
        assert len(templates) == 1, f"[{sec.name}]: template {parent!r} not found"
        items += resolve(sections, templates[0]).items
    return Section(sec.name, sec.template, sec.parents, items + sec.items)


def defined_queues() -> set[str]:
    """Queue names in queues.conf: every section but [general] and templates."""
    return {
        s.name
        for s in read_conf(CONF_DIR / "queues.conf")
        if s.name != "general" and not s.template
    }


# ---------------------------------------------------------------------------
# (a) asterisklint
# ---------------------------------------------------------------------------


def asterisklint_cmd() -> list[str]:
    """asterisklint from the interpreter running the tests, never a global one.

    asterisklint has no ``__main__`` module (``python -m asterisklint`` fails),
    so use the console script next to ``sys.executable`` (the venv's bin/),
    or the same entry point through ``sys.executable -c`` when that script is
    not there.
    """
    if importlib.util.find_spec("asterisklint") is None:
        pytest.fail("asterisklint is not installed for this interpreter: pip install -e '.[dev]'")
    script = Path(sys.executable).with_name("asterisklint")
    if script.is_file():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import os, sys; from asterisklint.main import main; "
        "sys.exit(main(sys.argv[1:], os.environ))",
    ]


def run_dialplan_check(conf: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("ALINT_IGNORE", None)  # would mute error classes
    env["HOME"] = str(home)  # ~/.asterisklint could override the checks
    return subprocess.run(
        [*asterisklint_cmd(), "dialplan-check", str(conf)],
        capture_output=True,
        text=True,
        env=env,
        cwd=home,
        timeout=120,
    )


def test_asterisklint_reports_nothing(tmp_path: Path) -> None:
    result = run_dialplan_check(EXTENSIONS, tmp_path)
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"asterisklint dialplan-check failed:\n{output}"
    assert output == "", f"asterisklint printed:\n{output}"


def test_asterisklint_flags_a_broken_dialplan(tmp_path: Path) -> None:
    # Guards the test above: the same invocation must see real mistakes.
    broken = tmp_path / "extensions.conf"
    text = EXTENSIONS.read_text()
    assert "Goto(hotline,s,1)" in text
    broken.write_text(text.replace("Goto(hotline,s,1)", "Goto(no-such-context,s,1)"))
    result = run_dialplan_check(broken, tmp_path)
    assert result.returncode == 1
    assert "E_DP_GOTO_NOCONTEXT" in result.stdout + result.stderr


# ---------------------------------------------------------------------------
# (b) loopback binds
# ---------------------------------------------------------------------------


def is_loopback_host(value: str) -> bool:
    """True for a loopback IP literal, with or without a port (``[::1]:8089``)."""
    host = value.strip()
    if m := re.fullmatch(r"\[([^\]]+)\](?::\d+)?", host):
        host = m.group(1)
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # hostnames ("localhost") can resolve anywhere: not accepted


def test_is_loopback_host() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("127.0.0.1:8089")
    assert is_loopback_host("[::1]:5039")
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("10.0.0.5:8088")
    assert not is_loopback_host("localhost")


def test_ami_binds_loopback_and_denies_first() -> None:
    sections = read_conf(CONF_DIR / "manager.conf")
    general = section(sections, "general")
    bindaddr = general.get("bindaddr")
    # Missing bindaddr means 0.0.0.0, so it must be present.
    assert bindaddr is not None, "manager.conf: bindaddr missing (Asterisk would bind 0.0.0.0)"
    assert is_loopback_host(bindaddr), f"manager.conf: bindaddr {bindaddr} is not loopback"
    assert general.get("port") == "5038"
    for tls_bind in general.getall("tlsbindaddr"):
        assert is_loopback_host(tls_bind), f"manager.conf: tlsbindaddr {tls_bind}"

    users = [s for s in sections if s.name != "general" and not s.template]
    assert [u.name for u in users] == ["hotline"]
    for user in users:
        acl = [(k, v) for k, v, _ in user.items if k in ("deny", "permit")]
        # An ACL of permit lines only lets every address in: deny all first.
        assert acl, f"[{user.name}]: no ACL"
        first_kind, first_net = acl[0]
        assert first_kind == "deny", f"[{user.name}]: the ACL must start with a deny"
        assert ipaddress.ip_network(first_net, strict=False).prefixlen == 0
        permits = [v for k, v in acl if k == "permit"]
        assert permits, f"[{user.name}]: no permit line"
        for net in permits:
            network = ipaddress.ip_network(net, strict=False)
            assert network.network_address.is_loopback and network.broadcast_address.is_loopback, (
                f"[{user.name}]: permit {net} reaches beyond loopback"
            )
        assert "127.0.0.1/255.255.255.255" in permits
        assert user.get("secret"), f"[{user.name}]: no secret"
        assert "system" not in (user.get("write") or "").split(",")
        assert "command" not in (user.get("write") or "").split(",")


def test_http_and_ari_bind_loopback() -> None:
    http = section(read_conf(CONF_DIR / "http.conf"), "general")
    assert http.get("enabled") == "yes"
    bindaddr = http.get("bindaddr")
    assert bindaddr is not None, "http.conf: bindaddr missing"
    assert is_loopback_host(bindaddr), f"http.conf: bindaddr {bindaddr} is not loopback"
    assert http.get("bindport") == "8088"
    assert http.get("tlsenable") in (None, "no")
    for tls_bind in http.getall("tlsbindaddr"):
        assert is_loopback_host(tls_bind), f"http.conf: tlsbindaddr {tls_bind}"

    # ARI has no listener of its own: it is served by http.conf (checked above).
    ari = read_conf(CONF_DIR / "ari.conf")
    assert section(ari, "general").get("enabled") == "yes"
    origins = section(ari, "general").get("allowed_origins") or ""
    assert "*" not in origins, "ari.conf: allowed_origins must not accept any browser origin"
    user = section(ari, "hotline")
    assert user.get("type") == "user"
    assert user.get("password")


def test_fastagi_target_is_loopback() -> None:
    globals_ = section(read_conf(EXTENSIONS), "globals")
    host = globals_.get("ivr_agi_host")
    assert host == "127.0.0.1:4573"
    assert is_loopback_host(host)
    assert "AGI(agi://${IVR_AGI_HOST}/hotline" in strip_comments(EXTENSIONS.read_text())


SECRET_KEYS = {"secret", "password", "md5_cred", "password_digest", "oauth_secret"}


@pytest.mark.parametrize("conf", ["manager.conf", "ari.conf", "pjsip.conf"])
def test_no_real_secrets_committed(conf: str) -> None:
    secrets = [
        (s.name, k, v)
        for s in read_conf(CONF_DIR / conf)
        for k, v, _ in s.items
        if k in SECRET_KEYS
    ]
    assert secrets, f"{conf}: no credentials found at all"
    for name, key, value in secrets:
        assert value == "CHANGE_ME", f"{conf} [{name}]: {key} must stay the CHANGE_ME placeholder"


def test_pjsip_is_tls_and_srtp_only() -> None:
    sections = read_conf(CONF_DIR / "pjsip.conf")
    objects = [resolve(sections, s) for s in sections if not s.template]
    transports = [o for o in objects if o.get("type") == "transport"]
    assert [t.get("protocol") for t in transports] == ["tls"], "only one transport: TLS"
    tls = transports[0]
    assert (tls.get("bind") or "").endswith(":5061")
    assert tls.get("method") == "tlsv1_2"
    for key in ("cert_file", "priv_key_file", "ca_list_file"):
        assert (tls.get(key) or "").startswith("/etc/asterisk/keys/"), key
    endpoints = {o.name: o for o in objects if o.get("type") == "endpoint"}
    assert {"carrier", "softphone1"} <= endpoints.keys()
    assert endpoints["carrier"].get("context") == "from-pstn"
    for ep in endpoints.values():
        assert ep.get("transport") == tls.name, f"[{ep.name}]: transport"
        assert ep.get("media_encryption") == "sdes", f"[{ep.name}]: SRTP"
        assert ep.get("media_encryption_optimistic") == "no", f"[{ep.name}]: RTP fallback"
        assert ep.get("disallow") == "all" and ep.get("allow") == "ulaw,alaw", f"[{ep.name}]"
        assert ep.get("context") in ("from-pstn", "from-internal"), f"[{ep.name}]: context"


# ---------------------------------------------------------------------------
# (c) queues used by extensions.conf exist in queues.conf
# ---------------------------------------------------------------------------


def closing_paren(text: str, open_at: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``open_at``."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise AssertionError(f"unbalanced parentheses after {text[open_at : open_at + 40]!r}")


def split_args(data: str) -> list[str]:
    """Split application arguments on commas outside ${...}, $[...] and (...)."""
    args, depth, current = [], 0, []
    for ch in data:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            args.append("".join(current))
            current = []
        else:
            current.append(ch)
    args.append("".join(current))
    return args


def app_calls(text: str, app: str) -> list[str]:
    """Argument strings of every ``app(...)`` call (not ``QUEUE_EXISTS(``, ...)."""
    calls = []
    for m in re.finditer(rf"(?<![\w$]){re.escape(app)}\(", text, flags=re.IGNORECASE):
        open_at = m.end() - 1
        calls.append(text[open_at + 1 : closing_paren(text, open_at)])
    return calls


def test_queues_conf_has_general_settings_and_the_hotline_queues() -> None:
    sections = read_conf(CONF_DIR / "queues.conf")
    general = section(sections, "general")
    # [general] holds module settings; member lines there mean someone treats it as a queue.
    assert not general.getall("member"), "queues.conf: [general] is not a queue"
    assert not general.get("strategy"), "queues.conf: [general] is not a queue"
    queues = defined_queues()
    assert "general" not in queues
    missing = HOTLINE_QUEUES - queues
    assert not missing, f"queues.conf lacks {sorted(missing)}"
    for name in queues:
        assert QUEUE_NAME_RE.match(name), f"queue {name!r}: FILTER(a-z0-9_) would change it"
        queue = resolve(sections, section(sections, name))
        assert queue.get("strategy"), f"[{name}]: no strategy"
        assert queue.get("timeout"), f"[{name}]: no ring timeout"


def test_every_queue_in_extensions_conf_exists() -> None:
    text = strip_comments(EXTENSIONS.read_text())
    calls = app_calls(text, "Queue")
    assert calls, "extensions.conf runs no Queue() at all"
    queues = defined_queues()
    literal = set()
    for args in calls:
        name = split_args(args)[0].strip()
        if name == DYNAMIC_QUEUE_ARG:
            continue  # Hotline's choice: the dialplans/*.yaml test covers those names
        assert "$" not in name, (
            f"Queue({args}): a queue is either a literal name or {DYNAMIC_QUEUE_ARG}"
        )
        assert name != "general", "queues.conf [general] is not a queue"
        assert name in queues, f"Queue({args}): {name!r} is not defined in queues.conf"
        literal.add(name)
    assert DEFAULT_QUEUE in literal, f"no fallback Queue({DEFAULT_QUEUE},...)"
    assert DEFAULT_QUEUE in queues
    assert any(split_args(a)[0] == DYNAMIC_QUEUE_ARG for a in calls), (
        "the queue named by Hotline (IVR_QUEUE) is never used"
    )
    for exists in app_calls(text, "QUEUE_EXISTS"):
        assert exists == DYNAMIC_QUEUE_ARG


# ---------------------------------------------------------------------------
# (d) queues named by dialplans/*.yaml exist in queues.conf
# ---------------------------------------------------------------------------


def dialplan_queue_nodes() -> Iterator[tuple[str, str, object]]:
    """(file, node id, queue spec) for every ``queue:`` node in dialplans/*.yaml."""
    files = sorted([*DIALPLANS_DIR.glob("*.yaml"), *DIALPLANS_DIR.glob("*.yml")])
    if not files:
        pytest.skip("dialplans/ has no YAML dialplans yet")
    for path in files:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        nodes = doc.get("nodes") if isinstance(doc, dict) else None
        if not isinstance(nodes, dict):
            continue
        for node_id, node in nodes.items():
            if isinstance(node, dict) and "queue" in node:
                yield path.name, str(node_id), node["queue"]


def test_dialplan_queue_nodes_name_defined_queues() -> None:
    queues = defined_queues()
    seen = 0
    for filename, node_id, spec in dialplan_queue_nodes():
        seen += 1
        where = f"dialplans/{filename} node {node_id!r}"
        name = spec.get("name") if isinstance(spec, dict) else spec
        assert isinstance(name, str), f"{where}: queue without a name"
        assert QUEUE_NAME_RE.match(name), f"{where}: queue {name!r} is not [a-z0-9_]"
        assert name != "general", f"{where}: [general] in queues.conf is not a queue"
        assert name in queues, f"{where}: queue {name!r} is not defined in queues.conf"
        priority = spec.get("priority") if isinstance(spec, dict) else None
        if priority is not None:
            assert isinstance(priority, int) and not isinstance(priority, bool), where
            assert 0 <= priority <= 10, f"{where}: priority {priority} outside 0..10"
    if not seen:
        pytest.skip("no queue: nodes in dialplans/*.yaml yet")


def test_distress_escalation_queues_are_defined() -> None:
    """Distressed callers go to the ``escalate:`` queue (default senior_agents) of every
    dialplan, so that queue must exist even where no ``queue:`` node names it."""
    from ivr.emotion.policy import DEFAULT_POLICY

    queues = defined_queues()
    for path in sorted(DIALPLANS_DIR.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        blocks = [doc.get("escalate") or {}, *(n.get("escalate") or {} for n in
                                                doc.get("nodes", {}).values()
                                                if isinstance(n, dict))]
        for block in blocks:
            name = block.get("queue", DEFAULT_POLICY.queue)
            assert name in queues, f"dialplans/{path.name}: escalation queue {name!r} is " \
                                   "not defined in queues.conf"


# ---------------------------------------------------------------------------
# (e) no shell, caller-supplied strings only through FILTER()
# ---------------------------------------------------------------------------


def test_no_shell_in_the_dialplan() -> None:
    text = strip_comments(EXTENSIONS.read_text())
    for app in ("System", "TrySystem", "SHELL"):
        assert not app_calls(text, app), f"extensions.conf must not use {app}()"
    # Exec()/TryExec()/EVAL() run a string as more dialplan: they would hide
    # any of the above from this check. (ExecIf with a literal app is fine.)
    for app in ("Exec", "TryExec", "EVAL"):
        assert not app_calls(text, app), f"extensions.conf must not use {app}()"


FILTERED_CALLERID_RE = re.compile(r"\$\{FILTER\(([^,]*),\$\{CALLERID\(([a-z-]+)\)\}\)\}")
FILTERED_EXTEN_RE = re.compile(r"\$\{FILTER\(([^,]*),\$\{EXTEN\}\)\}")


def test_caller_supplied_strings_only_inside_filter() -> None:
    text = strip_comments(EXTENSIONS.read_text())
    assert "${CALLERID(num)}" in text, "the caller id is expected to be sanitised here"
    charsets = {"num": "+0-9", "dnid": "0-9"}
    for m in FILTERED_CALLERID_RE.finditer(text):
        expected = charsets.get(m.group(2))
        assert expected is None or m.group(1) == expected, (
            f"CALLERID({m.group(2)}) filtered with {m.group(1)!r}, expected {expected!r}"
        )
    rest = FILTERED_CALLERID_RE.sub("", text)
    assert "${CALLERID(" not in rest, "a ${CALLERID(...)} read outside FILTER()"
    for m in FILTERED_EXTEN_RE.finditer(text):
        assert m.group(1) == "0-9", "the dialed number must be reduced to digits"
    assert "${EXTEN}" not in FILTERED_EXTEN_RE.sub("", text), "${EXTEN} read outside FILTER()"


def test_caller_id_is_sanitised_before_the_ivr_sees_it() -> None:
    dialplan = Dialplan.load(EXTENSIONS)
    sanitise = "CALLERID(num)=${FILTER(+0-9,${CALLERID(num)})}"
    checked = 0
    for context, extens in dialplan.contexts.items():
        for exten, steps in extens.items():
            apps = [(s.app.lower(), s.data) for s in steps]
            for i, (app, _) in enumerate(apps):
                if app in ("agi", "stasis"):
                    checked += 1
                    assert ("set", sanitise) in apps[:i], (
                        f"[{context}] {exten}: {app} runs before Set({sanitise})"
                    )
    assert checked >= 2, "expected the FastAGI and the ARI entry"


# ---------------------------------------------------------------------------
# (f) every sound the confs name ships in Debian's asterisk-core-sounds-en
# ---------------------------------------------------------------------------

CORE_SOUNDS_LIST = ROOT / "tests" / "fixtures" / "asterisk" / "core-sounds-en.files"
# Dialplan applications and the arguments (0-based) that name sounds, '&'-separated.
SOUND_ARGUMENTS = {"Playback": (0,), "Background": (0,), "ControlPlayback": (0,),
                   "Read": (1,), "Queue": (3,)}
# queues.conf settings that name sounds (',' or '|' separate several).
QUEUE_SOUND_SETTINGS = re.compile(r"^(announce|periodic-announce|queue-[a-z0-9-]+)$")


def core_sounds() -> set[str]:
    """Sound names (``digits/1``, ``vm-goodbye``) in the committed package file list."""
    prefix = "/usr/share/asterisk/sounds/en_US_f_Allison/"
    lines = [line for line in CORE_SOUNDS_LIST.read_text().splitlines()
             if line and not line.startswith("#")]
    assert all(line.startswith(prefix) for line in lines)
    return {line.removeprefix(prefix).rsplit(".", 1)[0] for line in lines}


def named_sounds(conf_dir: Path) -> list[tuple[str, str]]:
    """(where, sound name) for every sound ``conf_dir/*.conf`` plays or announces."""
    found: list[tuple[str, str]] = []
    for conf in sorted(conf_dir.glob("*.conf")):
        text = strip_comments(conf.read_text())
        for app, indexes in SOUND_ARGUMENTS.items():
            for data in app_calls(text, app):
                args = split_args(data)
                for i in indexes:
                    names = args[i].split("&") if i < len(args) else []
                    found += [(f"{conf.name}: {app}({data})", n.strip()) for n in names
                              if n.strip()]
        if conf.name == "queues.conf":
            for sec in read_conf(conf):
                for key, value, line in sec.items:
                    if QUEUE_SOUND_SETTINGS.match(key):
                        found += [(f"{conf.name}:{line}: {key}", n.strip())
                                  for n in re.split(r"[,|]", value) if n.strip()]
    return found


def missing_sounds(conf_dir: Path) -> list[str]:
    """What Asterisk would answer "File ... does not exist in any format" for."""
    known = core_sounds()
    return [f"{where}: {name!r} is not in asterisk-core-sounds-en" for where, name in
            named_sounds(conf_dir) if name not in known]


def test_every_sound_the_confs_name_ships_in_asterisk_core_sounds_en() -> None:
    names = {name for _, name in named_sounds(CONF_DIR)}
    # The goodbye after a queue gives up, and what waiting callers hear.
    assert {"sorry", "please-try-call-later", "vm-goodbye", "queue-thankyou"} <= names
    assert missing_sounds(CONF_DIR) == []


def test_a_sound_missing_from_the_package_is_reported(tmp_path: Path) -> None:
    # Guards the test above: the name the Asterisk docs use, which Debian does not ship.
    for conf in CONF_DIR.glob("*.conf"):
        text = conf.read_text().replace("please-try-call-later", "pls-try-call-later")
        (tmp_path / conf.name).write_text(text)
    queues = tmp_path / "queues.conf"
    queues.write_text(queues.read_text().replace("= queue-thankyou", "= queue-thanks"))
    missing = missing_sounds(tmp_path)
    assert len(missing) == 2, missing
    assert "'pls-try-call-later'" in missing[0] and "Playback(" in missing[0]
    assert "'queue-thanks'" in missing[1] and "periodic-announce" in missing[1]


# ---------------------------------------------------------------------------
# The transfer contract, run through a small model of the dialplan
# ---------------------------------------------------------------------------
#
# Just enough of Asterisk's dialplan semantics for the applications and
# functions extensions.conf uses: ${VAR}, ${FUNC(...)} with FILTER, CALLERID,
# QUEUE_EXISTS and IF; $[...] with = != < > <= >= & | ! and parentheses;
# pattern extensions (_X. etc.) and include =>. Anything else raises
# Unmodelled, so the dialplan cannot grow past what these tests understand.


class Unmodelled(AssertionError):
    pass


@dataclass
class Step:
    app: str
    data: str
    label: str | None
    line: int


@dataclass
class Dialplan:
    contexts: dict[str, dict[str, list[Step]]]
    includes: dict[str, list[str]]
    globals: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Dialplan:
        contexts: dict[str, dict[str, list[Step]]] = {}
        includes: dict[str, list[str]] = {}
        globals_: dict[str, str] = {}
        context = ""
        exten = ""
        for lineno, raw in enumerate(strip_comments(path.read_text()).splitlines(), 1):
            line = raw.strip()
            if not line:
                continue
            if m := SECTION_RE.match(line):
                context = m.group(1)
                if context not in ("general", "globals"):
                    contexts.setdefault(context, {})
                continue
            if context == "globals":
                key, _, value = line.partition("=")
                globals_[key.strip()] = value.strip()
                continue
            if context == "general":
                continue
            m = re.match(r"^(exten|same|include)\s*=>\s*(.*)$", line)
            assert m, f"extensions.conf:{lineno}: cannot parse {line!r}"
            kind, rest = m.groups()
            if kind == "include":
                includes.setdefault(context, []).append(rest.strip())
                continue
            if kind == "exten":
                exten, rest = rest.split(",", 1)
                exten = exten.strip()
                contexts[context].setdefault(exten, [])
            prio, appdata = rest.split(",", 1)
            pm = re.fullmatch(r"\s*(\d+|n)(?:\(([A-Za-z0-9_-]+)\))?\s*", prio)
            assert pm, f"extensions.conf:{lineno}: bad priority {prio!r}"
            steps = contexts[context][exten]
            expected = str(len(steps) + 1)
            assert pm.group(1) in ("n", expected), f"extensions.conf:{lineno}: priority gap"
            am = re.fullmatch(r"\s*([A-Za-z]+)(?:\((.*)\))?\s*", appdata, flags=re.DOTALL)
            assert am, f"extensions.conf:{lineno}: bad application {appdata!r}"
            steps.append(Step(am.group(1), am.group(2) or "", pm.group(2), lineno))
        return cls(contexts, includes, globals_)

    def find(
        self, context: str, exten: str, seen: frozenset[str] = frozenset()
    ) -> tuple[str, str] | None:
        """(context, extension) that dialing ``exten`` in ``context`` runs:
        literal names first, then patterns, then included contexts."""
        extens = self.contexts[context]
        if exten in extens:
            return context, exten
        for name in extens:
            if name.startswith("_") and re.fullmatch(pattern_regex(name), exten):
                return context, name
        for included in self.includes.get(context, []):
            if included not in seen and (hit := self.find(included, exten, seen | {context})):
                return hit
        return None


def pattern_regex(pattern: str) -> str:
    out = []
    body = pattern[1:]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in "Xx":
            out.append("[0-9]")
        elif ch in "Zz":
            out.append("[1-9]")
        elif ch in "Nn":
            out.append("[2-9]")
        elif ch == ".":
            out.append(".+")
        elif ch == "!":
            out.append(".*")
        elif ch == "[":
            end = body.index("]", i)
            out.append(f"[{body[i + 1 : end]}]")
            i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


def filter_chars(allowed: str, value: str) -> str:
    """FILTER(allowed,value): ``a-z`` style ranges plus single characters."""
    chars: set[str] = set()
    i = 0
    while i < len(allowed):
        if i + 2 < len(allowed) and allowed[i + 1] == "-":
            chars |= {chr(c) for c in range(ord(allowed[i]), ord(allowed[i + 2]) + 1)}
            i += 3
        else:
            chars.add(allowed[i])
            i += 1
    return "".join(ch for ch in value if ch in chars)


def truthy(value: str) -> bool:
    """pbx_checkcondition: empty is false, numbers by value, other text true."""
    value = value.strip()
    if not value:
        return False
    try:
        return float(value) != 0
    except ValueError:
        return True


TOKEN_RE = re.compile(r'\s*("(?:[^"\\]|\\.)*"|!=|<=|>=|[|&=<>!()]|[^\s|&=<>!()"]+)')


def evaluate_expression(expr: str) -> str:
    """$[...] for the operators the hotline dialplan uses; result '1'/'0' or a value."""
    tokens = [t for t in TOKEN_RE.findall(expr) if t.strip()]
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise Unmodelled(f"$[{expr}]: syntax error (missing operand)")
        pos += 1
        return tokens[pos - 1]

    def primary() -> str:
        token = take()
        if token == "(":
            value = or_expr()
            if take() != ")":
                raise Unmodelled(f"$[{expr}]: unbalanced parentheses")
            return value
        if token == "!":
            return "0" if truthy(primary()) else "1"
        if token in ("|", "&", "=", "!=", "<", ">", "<=", ">=", ")"):
            raise Unmodelled(f"$[{expr}]: syntax error at {token!r}")
        return token[1:-1] if token.startswith('"') else token

    def comparison() -> str:
        left = primary()
        op = peek()
        if op not in ("=", "!=", "<", ">", "<=", ">="):
            return left
        take()
        right = primary()
        try:  # numbers compare as numbers, anything else as strings
            order = (float(left) > float(right)) - (float(left) < float(right))
        except ValueError:
            order = (left > right) - (left < right)
        result = {
            "=": order == 0,
            "!=": order != 0,
            "<": order < 0,
            ">": order > 0,
            "<=": order <= 0,
            ">=": order >= 0,
        }[op]
        return "1" if result else "0"

    def and_expr() -> str:
        value = comparison()
        while peek() == "&":
            take()
            right = comparison()
            value = "1" if truthy(value) and truthy(right) else "0"
        return value

    def or_expr() -> str:
        value = and_expr()
        while peek() == "|":
            take()
            right = and_expr()
            value = value if truthy(value) else right
        return value

    result = or_expr()
    if pos != len(tokens):
        raise Unmodelled(f"$[{expr}]: trailing tokens {tokens[pos:]}")
    return result


@dataclass
class Channel:
    variables: dict[str, str]
    callerid: dict[str, str]
    log: list[tuple[str, ...]] = field(default_factory=list)

    def queues(self) -> list[tuple[str, str]]:
        """(queue, QUEUE_PRIO) for every Queue() the caller entered."""
        return [(e[1], e[2]) for e in self.log if e[0] == "Queue"]

    def apps(self) -> list[str]:
        return [e[0] for e in self.log]


class Hangup(Exception):
    pass


# What the IVR transport does to the channel: returns variables to set.
Transport = Callable[[Channel, list[str]], dict[str, str]]


class DialplanModel:
    def __init__(
        self,
        dialplan: Dialplan,
        queues: set[str],
        *,
        agi: Transport | None = None,
        stasis: Transport | None = None,
        queue_status: Callable[[str], str] = lambda queue: "TIMEOUT",
        globals_override: dict[str, str] | None = None,
    ) -> None:
        self.dialplan = dialplan
        self.queues = queues
        self.agi = agi
        self.stasis = stasis
        self.queue_status = queue_status
        self.globals = {**dialplan.globals, **(globals_override or {})}
        self.exten = ""

    # -- substitution ------------------------------------------------------

    def substitute(self, chan: Channel, text: str) -> str:
        out = []
        i = 0
        while i < len(text):
            if text.startswith("${", i) or text.startswith("$[", i):
                opener, closer = ("{", "}") if text[i + 1] == "{" else ("[", "]")
                depth, j = 0, i + 1
                while j < len(text):
                    depth += text[j] == opener
                    depth -= text[j] == closer
                    if depth == 0:
                        break
                    j += 1
                else:
                    raise Unmodelled(f"unbalanced {text[i:]!r}")
                inner = self.substitute(chan, text[i + 2 : j])
                if opener == "{":
                    out.append(self.reference(chan, inner))
                else:
                    out.append(evaluate_expression(inner))
                i = j + 1
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def reference(self, chan: Channel, inner: str) -> str:
        if m := re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\((.*)\)", inner, flags=re.DOTALL):
            func, args = m.group(1).upper(), m.group(2)
            if func == "FILTER":
                allowed, _, value = args.partition(",")
                return filter_chars(allowed, value)
            if func == "CALLERID":
                return chan.callerid.get(args.strip(), "")
            if func == "QUEUE_EXISTS":
                return "1" if args in self.queues else "0"
            if func == "IF":
                cond, _, choices = args.partition("?")
                yes, _, no = choices.partition(":")
                return yes if truthy(cond) else no
            raise Unmodelled(f"function {func}() is not modelled")
        if inner == "EXTEN":
            return self.exten
        return chan.variables.get(inner, self.globals.get(inner, ""))

    # -- execution -----------------------------------------------------------

    def run(self, context: str, exten: str, chan: Channel) -> Channel:
        hit = self.dialplan.find(context, exten)
        if hit is None:
            raise LookupError(f"no extension {exten!r} in [{context}]")
        ctx, ext = hit
        index = 0
        self.exten = exten
        for _ in range(500):
            steps = self.dialplan.contexts[ctx][ext]
            if index >= len(steps):  # autofallthrough: the call is hung up
                chan.log.append(("Fallthrough", ctx, ext))
                return chan
            step = steps[index]
            try:
                jump = self.execute(chan, step.app, self.substitute(chan, step.data), ctx, ext)
            except Hangup:
                return chan
            except Unmodelled as exc:
                raise Unmodelled(f"extensions.conf:{step.line}: {exc}") from None
            if jump is None:
                index += 1
            else:
                if jump[1] != ext:
                    self.exten = jump[1]  # Goto to another extension changes ${EXTEN}
                ctx, ext, index = jump
        raise AssertionError("the dialplan loops")

    def resolve_goto(self, target: str, ctx: str, ext: str) -> tuple[str, str, int]:
        parts = [p.strip() for p in target.split(",")]
        if len(parts) == 3:
            ctx, ext, prio = parts
        elif len(parts) == 2:
            ext, prio = parts
        else:
            (prio,) = parts
        steps = self.dialplan.contexts[ctx][ext]
        if prio.isdigit():
            assert 1 <= int(prio) <= len(steps), f"Goto({target}): no such priority"
            return ctx, ext, int(prio) - 1
        labels = [i for i, s in enumerate(steps) if s.label == prio]
        assert labels, f"Goto({target}): no label {prio!r} in [{ctx}] {ext}"
        return ctx, ext, labels[0]

    def execute(
        self, chan: Channel, app: str, data: str, ctx: str, ext: str
    ) -> tuple[str, str, int] | None:
        name = app.lower()
        if name in ("noop", "verbose"):
            return None
        if name in ("answer", "playback", "voicemail"):
            chan.log.append((app, data))
            return None
        if name == "hangup":
            chan.log.append(("Hangup",))
            raise Hangup
        if name == "set":
            key, _, value = data.partition("=")
            key = key.lstrip("_")
            if m := re.fullmatch(r"CALLERID\((\w+)\)", key):
                chan.callerid[m.group(1)] = value
            else:
                chan.variables[key] = value
            return None
        if name == "goto":
            return self.resolve_goto(data, ctx, ext)
        if name in ("gotoif", "execif"):
            cond, _, choices = data.partition("?")
            if name == "gotoif":
                yes, _, no = choices.partition(":")
                target = yes if truthy(cond) else no
                return self.resolve_goto(target, ctx, ext) if target else None
            if truthy(cond):
                m = re.fullmatch(r"([A-Za-z]+)\((.*)\)", choices, flags=re.DOTALL)
                assert m, f"ExecIf: cannot parse {choices!r}"
                return self.execute(chan, m.group(1), m.group(2), ctx, ext)
            return None
        if name in ("agi", "stasis"):
            args = split_args(data)
            chan.log.append((app, *args))
            transport = self.agi if name == "agi" else self.stasis
            assert transport is not None, f"{app}() reached but the test gave no transport"
            chan.variables.update(transport(chan, args))
            return None
        if name == "queue":
            args = split_args(data)
            queue = args[0]
            chan.log.append(("Queue", queue, chan.variables.get("QUEUE_PRIO", ""), args[4]))
            assert queue in self.queues, f"Queue({queue}) is not in queues.conf"
            status = self.queue_status(queue)
            if status == "ANSWERED":  # bridged to an agent; Queue() hangs up after
                raise Hangup
            chan.variables["QUEUESTATUS"] = status
            return None
        raise Unmodelled(f"application {app}() is not modelled")


def agi_sets(**variables: str) -> Transport:
    """A FastAGI peer that ends the session after SET VARIABLE ... (AGISTATUS=SUCCESS)."""

    def transport(chan: Channel, args: list[str]) -> dict[str, str]:
        return {"AGISTATUS": "SUCCESS", **variables}

    return transport


def agi_status(status: str) -> Transport:
    """Asterisk could not run the session (nothing listening: FAILURE)."""
    return lambda chan, args: {"AGISTATUS": status}


def call(
    transport: Transport,
    *,
    context: str = "from-pstn",
    exten: str = "+18005550100",
    callerid: str = "+15551234567",
    dnid: str = "",
    variables: dict[str, str] | None = None,
    queue_status: Callable[[str], str] = lambda queue: "TIMEOUT",
    globals_override: dict[str, str] | None = None,
) -> Channel:
    model = DialplanModel(
        Dialplan.load(EXTENSIONS),
        defined_queues(),
        agi=transport,
        stasis=transport,
        queue_status=queue_status,
        globals_override=globals_override,
    )
    chan = Channel(dict(variables or {}), {"num": callerid, "dnid": dnid})
    return model.run(context, exten, chan)


GOODBYE = ("Playback", "sorry&please-try-call-later&vm-goodbye")


def test_model_evaluates_expressions_like_asterisk() -> None:
    assert evaluate_expression('"a" = "a"') == "1"
    assert evaluate_expression('"" != ""') == "0"
    assert evaluate_expression("42 > 10") == "1"
    assert evaluate_expression("9 > 10") == "0"
    assert evaluate_expression('"x" = "y" | "y" = "y"') == "1"
    with pytest.raises(Unmodelled):
        evaluate_expression(" > 10")  # an empty variable in $[${X} > 10]
    assert filter_chars("+0-9", "+1 (555) 123-4567;x") == "+15551234567"
    assert filter_chars("a-z0-9_", "Fraud_Desk,r") == "raud_eskr"


@pytest.mark.parametrize(
    ("name", "transport"),
    [
        ("nothing listens on the FastAGI port", agi_status("FAILURE")),
        ("AGI script not found", agi_status("NOTFOUND")),
        ("Hotline died mid-call, set nothing", agi_sets()),
        ("outcome failed, no queue", agi_sets(IVR_OUTCOME="failed")),
        ("outcome this dialplan does not know", agi_sets(IVR_OUTCOME="transferred")),
        ("queue not in queues.conf", agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="nosuch")),
        (
            "argument injection through IVR_QUEUE",
            agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="payments,,,,1"),
        ),
    ],
)
def test_without_a_usable_answer_the_caller_reaches_the_default_queue(
    name: str, transport: Transport
) -> None:
    chan = call(transport)
    assert chan.queues()[:1] == [(DEFAULT_QUEUE, "0")], name
    assert chan.log[-1] == ("Hangup",), f"{name}: the call must end with a goodbye, not dead air"
    assert GOODBYE in chan.log


def test_queued_caller_reaches_the_named_queue_at_its_priority() -> None:
    chan = call(agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="fraud_desk", IVR_PRIORITY="9"))
    assert chan.queues()[0] == ("fraud_desk", "9")
    queue_event = next(e for e in chan.log if e[0] == "Queue")
    assert queue_event[3] == "600", "Queue() timeout comes from IVR_QUEUE_TIMEOUT"


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0", "0"), ("5", "5"), ("10", "10"), ("42", "10"), ("", "0"), ("7;Hangup()", "7")],
)
def test_queue_priority_is_filtered_and_clamped(given: str, expected: str) -> None:
    chan = call(agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="payments", IVR_PRIORITY=given))
    assert chan.queues()[0] == ("payments", expected)


@pytest.mark.parametrize("outcome", ["self_served", "abandoned"])
def test_finished_calls_hang_up_without_a_queue(outcome: str) -> None:
    chan = call(agi_sets(IVR_OUTCOME=outcome))
    assert chan.queues() == []
    assert chan.log[-1] == ("Hangup",)
    assert GOODBYE not in chan.log


def test_a_named_queue_wins_over_the_agi_status() -> None:
    # A prompt Asterisk could not find ends the session with AGISTATUS=FAILURE,
    # but Hotline may already have handed over a queue: honour it.
    def transport(chan: Channel, args: list[str]) -> dict[str, str]:
        return {"AGISTATUS": "FAILURE", "IVR_OUTCOME": "queued", "IVR_QUEUE": "refunds"}

    assert call(transport).queues()[0] == ("refunds", "0")


@pytest.mark.parametrize("status", ["FAILURE", "NOTFOUND"])
def test_a_failed_session_goes_to_the_default_queue_whatever_the_outcome(status: str) -> None:
    # E.g. FAILURE after Hotline said self_served (its goodbye prompt was
    # missing): the caller may not have heard the end, so an agent takes over.
    def transport(chan: Channel, args: list[str]) -> dict[str, str]:
        return {"AGISTATUS": status, "IVR_OUTCOME": "self_served"}

    assert call(transport).queues()[0] == (DEFAULT_QUEUE, "0")


def test_stale_variables_cannot_fake_an_outcome() -> None:
    # Variables inherited from elsewhere are cleared before AGI: a Hotline that
    # dies without setting anything must not leave an old "self_served" behind.
    inherited = {"IVR_OUTCOME": "self_served", "IVR_QUEUE": "", "IVR_PRIORITY": "10"}
    chan = call(agi_sets(), variables=inherited)
    assert chan.queues()[0] == (DEFAULT_QUEUE, "0")


def test_busy_desk_overflows_once_to_the_default_queue() -> None:
    statuses = {"card_services": "JOINEMPTY", DEFAULT_QUEUE: "JOINEMPTY"}
    chan = call(
        agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="card_services", IVR_PRIORITY="3"),
        queue_status=lambda queue: statuses[queue],
    )
    assert chan.queues() == [("card_services", "3"), (DEFAULT_QUEUE, "3")]
    assert chan.log[-2:] == [GOODBYE, ("Hangup",)]


def test_queue_timeout_goes_to_goodbye_or_voicemail() -> None:
    transport = agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="payments")
    chan = call(transport, queue_status=lambda queue: "TIMEOUT")
    assert chan.queues() == [("payments", "0")]
    assert chan.log[-2:] == [GOODBYE, ("Hangup",)]
    chan = call(transport, globals_override={"IVR_VOICEMAIL_BOX": "hotline@default"})
    assert ("VoiceMail", "hotline@default,u") in chan.log
    assert GOODBYE not in chan.log


def test_answered_call_ends_after_the_agent() -> None:
    chan = call(
        agi_sets(IVR_OUTCOME="queued", IVR_QUEUE="payments"),
        queue_status=lambda queue: "ANSWERED",
    )
    assert chan.queues() == [("payments", "0")]
    assert GOODBYE not in chan.log


def test_fastagi_session_gets_sanitised_caller_data() -> None:
    seen: dict[str, object] = {}

    def transport(chan: Channel, args: list[str]) -> dict[str, str]:
        seen["callerid"] = chan.callerid["num"]
        seen["dnid"] = chan.callerid["dnid"]
        seen["args"] = args
        seen["answered"] = ("Answer", "") in chan.log
        return {"AGISTATUS": "SUCCESS", "IVR_OUTCOME": "self_served"}

    call(transport, callerid="+1 (555) 123-4567';${SHELL(id)}", dnid="800-555-0100;x")
    assert seen == {
        "callerid": "+15551234567",
        "dnid": "8005550100",
        "args": ["agi://127.0.0.1:4573/hotline", "18005550100"],
        "answered": True,
    }


@pytest.mark.parametrize(
    ("context", "exten", "dnid", "dialed"),
    [
        ("from-pstn", "+18005550100", "", "18005550100"),
        ("from-pstn", "18005550123", "", "18005550123"),
        ("from-pstn", "8005550100", "", "8005550100"),
        ("from-pstn", "s", "+1 800 555 0100", "18005550100"),
        ("from-internal", "100", "", "8005550100"),
        ("from-internal", "8005550100", "", "8005550100"),
    ],
)
def test_hotline_numbers_reach_fastagi(context: str, exten: str, dnid: str, dialed: str) -> None:
    chan = call(agi_sets(IVR_OUTCOME="self_served"), context=context, exten=exten, dnid=dnid)
    agi = [e for e in chan.log if e[0] == "AGI"]
    assert agi == [("AGI", "agi://127.0.0.1:4573/hotline", dialed)]


@pytest.mark.parametrize(("context", "exten"), [("from-pstn", "5551234"), ("from-pstn", "100")])
def test_other_numbers_do_not_match(context: str, exten: str) -> None:
    with pytest.raises(LookupError):
        call(agi_sets(), context=context, exten=exten)


def test_a_caller_who_took_a_callback_is_hung_up_not_queued() -> None:
    chan = call(agi_sets(IVR_OUTCOME="queued", IVR_CALLBACK="yes"))
    assert chan.queues() == [] and chan.log[-1] == ("Hangup",)
    inherited = call(agi_sets(), variables={"IVR_CALLBACK": "yes"})  # never from outside
    assert inherited.queues()[0] == (DEFAULT_QUEUE, "0")


def test_ari_entry_uses_stasis_and_the_same_routing() -> None:
    failed = call(
        lambda chan, args: {"STASISSTATUS": "FAILED"}, context="from-internal", exten="101"
    )
    assert [e[:2] for e in failed.log if e[0] == "Stasis"] == [("Stasis", "hotline")]
    assert failed.queues()[0] == (DEFAULT_QUEUE, "0")

    def served(chan: Channel, args: list[str]) -> dict[str, str]:
        return {"STASISSTATUS": "SUCCESS", "IVR_OUTCOME": "queued", "IVR_QUEUE": "senior_agents"}

    chan = call(served, context="from-internal", exten="101")
    assert chan.queues()[0] == ("senior_agents", "0")


# ---------------------------------------------------------------------------
# Several Hotline instances behind one Asterisk (asterisk-conf/README.md)
# ---------------------------------------------------------------------------

TWO_INSTANCES = {"IVR_AGI_HOST_B": "127.0.0.2:4573"}


def per_instance(**answers: dict[str, str]) -> Transport:
    """A FastAGI transport answering per host (``a`` = IVR_AGI_HOST, ``b`` = IVR_AGI_HOST_B)."""
    hosts = {"agi://127.0.0.1:4573/hotline": "a", "agi://127.0.0.2:4573/hotline": "b"}

    def transport(chan: Channel, args: list[str]) -> dict[str, str]:
        return answers[hosts[args[0]]]

    return transport


def agi_hosts(chan: Channel) -> list[str]:
    return [e[1] for e in chan.log if e[0] == "AGI"]


def test_one_instance_by_default() -> None:
    globals_ = section(read_conf(EXTENSIONS), "globals")
    assert globals_.get("ivr_agi_host_b") == "" and globals_.get("ivr_ari_app_b") == ""
    chan = call(agi_status("FAILURE"))
    assert agi_hosts(chan) == ["agi://127.0.0.1:4573/hotline"]
    assert chan.queues()[0] == (DEFAULT_QUEUE, "0")


def test_a_call_the_first_instance_cannot_take_goes_to_the_second() -> None:
    chan = call(per_instance(a={"AGISTATUS": "FAILURE"},
                             b={"AGISTATUS": "SUCCESS", "IVR_OUTCOME": "queued",
                                "IVR_QUEUE": "payments", "IVR_PRIORITY": "4"}),
                globals_override=TWO_INSTANCES)
    assert agi_hosts(chan) == ["agi://127.0.0.1:4573/hotline", "agi://127.0.0.2:4573/hotline"]
    assert chan.queues()[0] == ("payments", "4")


def test_both_instances_down_reach_the_default_queue() -> None:
    chan = call(agi_status("FAILURE"), globals_override=TWO_INSTANCES)
    assert len(agi_hosts(chan)) == 2
    assert chan.queues()[0] == (DEFAULT_QUEUE, "0")
    assert chan.log[-1] == ("Hangup",)


@pytest.mark.parametrize(("name", "first"), [
    ("served by the first", {"AGISTATUS": "SUCCESS", "IVR_OUTCOME": "self_served"}),
    # Killed mid-call: Asterisk sees the socket close (SUCCESS, nothing set). The caller
    # heard part of the IVR: an agent takes over rather than a new start on the second.
    ("first died mid-call", {"AGISTATUS": "SUCCESS"}),
    # A prompt missing after Hotline handed over a queue: that queue, not a new session.
    ("failed after a queue was set", {"AGISTATUS": "FAILURE", "IVR_OUTCOME": "queued",
                                      "IVR_QUEUE": "refunds"}),
])
def test_the_second_instance_is_tried_only_when_the_first_took_nothing(
        name: str, first: dict[str, str]) -> None:
    chan = call(per_instance(a=first, b={"AGISTATUS": "SUCCESS", "IVR_OUTCOME": "self_served"}),
                globals_override=TWO_INSTANCES)
    assert agi_hosts(chan) == ["agi://127.0.0.1:4573/hotline"], name
    expected = {"served by the first": [], "first died mid-call": [(DEFAULT_QUEUE, "0")],
                "failed after a queue was set": [("refunds", "0")]}[name]
    assert chan.queues()[:1] == expected, name


def test_ari_tries_the_second_instances_stasis_app() -> None:
    def stasis(chan: Channel, args: list[str]) -> dict[str, str]:
        if args[0] == "hotline-a":
            return {"STASISSTATUS": "FAILED"}
        return {"STASISSTATUS": "SUCCESS", "IVR_OUTCOME": "queued", "IVR_QUEUE": "fraud_desk"}

    apps = {"IVR_ARI_APP": "hotline-a", "IVR_ARI_APP_B": "hotline-b"}
    chan = call(stasis, context="from-internal", exten="101", globals_override=apps)
    assert [e[1] for e in chan.log if e[0] == "Stasis"] == ["hotline-a", "hotline-b"]
    assert chan.queues()[0] == ("fraud_desk", "0")
    both_down = call(lambda chan, args: {"STASISSTATUS": "FAILED"}, context="from-internal",
                     exten="101", globals_override=apps)
    assert both_down.queues()[0] == (DEFAULT_QUEUE, "0")
