#!/usr/bin/env python3
"""compose_check.py — docker-compose.yml and deploy/Dockerfile agree with the rest of the tree.

There is no Docker engine in CI, so the compose file is never run there; this keeps it honest:

  programs   every service built from deploy/Dockerfile runs a program the Makefile builds
             (and a `mintrace` command that exists), with options that program has
  settings   every MINTRACE_* variable a service sets (or the file interpolates) is one its
             program lists under Environment in --help; brokers set where needed; one topic
             prefix and one network id across the services
  kafka      the image version is tests/kafka/pom.xml's kafka.version; the broker settings are
             the 1-node ones of tests/kafka/kafka.sh; listeners, quorum, healthcheck, host port
  brokers    the address the services use is an advertised listener of the kafka service
  order      depends_on targets exist, conditions fit them (healthy needs a healthcheck,
             completed needs a one-shot); every stage waits for kafka and the topics
  secrets    the notary key reaches sign only and the aggregator key aggregate only, from
             files (Docker secrets or mounts); no key
             material or secret-named setting inline; registry paths lie under a mount
  scaling    replicas within the input topic's partitions (schemas/topics.json); replicated
             services keep per-instance transactional ids (no fixed hostname or id)
  image      builder installs deploy/install-deps.sh's build_pkgs and a -dev package for each of
             the Makefile's PKGS; the runtime stage installs exactly their runtime libraries
             (plus ca-certificates); non-root user; topics.json lands where the programs look

Usage: tests/compose_check.py [--compose FILE] [--dockerfile FILE]
Builds the programs it asks for --help (make, into build/bin) when they are missing or stale.
Prints "compose: N passed, N failed"; exits 1 when a check fails, 2 on a usage error.
Needs PyYAML (Debian: python3-yaml, which deploy/install-deps.sh installs).
"""

import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# pkg-config name (the Makefile's PKGS) -> (Debian -dev package, Debian runtime library package).
# Debian 12 names; the runtime package is what the -dev package depends on for the .so.
PKG_TABLE = {
    "rdkafka": ("librdkafka-dev", "librdkafka1"),
    "libprotobuf-c": ("libprotobuf-c-dev", "libprotobuf-c1"),
    "libsodium": ("libsodium-dev", "libsodium23"),
    "jansson": ("libjansson-dev", "libjansson4"),
}
# -dev packages the builder may install that need no runtime package: tests only (cmocka) or
# part of every Debian image (libc6).
DEV_WITHOUT_RUNTIME = {"libcmocka-dev": "unit tests only", "libc6-dev": "libc6 is in the base image"}
RUNTIME_EXTRAS = {"ca-certificates"}   # allowed in the runtime stage besides the libraries
BUILD_TOOLS = {"gcc", "make", "pkg-config", "protobuf-c-compiler", "libc6-dev"}

# tests/kafka/kafka.sh's server.properties names that differ in a container on purpose
KAFKA_SH_SKIP = {
    "node.id": "per node",
    "controller.quorum.bootstrap.servers": "the image formats a static quorum (controller.quorum.voters)",
    "listeners": "container listeners, checked below",
    "advertised.listeners": "checked below",
    "inter.broker.listener.name": "checked below",
    "listener.security.protocol.map": "checked below",
    "log.dirs": "a volume, checked below",
}
KAFKA_SH_ONE_NODE = {"rf": "1", "isr": "1", "n": "1"}   # write_config with --nodes 1

SECRET_NAME_PARTS = ("password", "passwd", "passphrase", "secret", ".pem", "private", "token",
                     "credential")   # mt_log_is_secret_name() in services/lib/log.c


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what):
        self.passed += 1
        print("  ok    " + what)

    def fail(self, what, detail=None):
        self.failed += 1
        print("  FAIL  " + what)
        for line in (detail or "").rstrip().splitlines():
            print("        " + line)

    def check(self, what, problems):
        """problems: list of strings; empty = pass."""
        if problems:
            self.fail(what, "\n".join(problems))
        else:
            self.ok(what)
        return not problems


def rel(path):
    return os.path.relpath(path, ROOT)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(cmd, **kw):
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(k, None)
    # the programs' --help must not see the caller's MINTRACE_* (defaults are parsed from it)
    for k in list(env):
        if k.startswith("MINTRACE_"):
            env.pop(k)
    return subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, **kw)


# ---- compose interpolation (${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$) --------
INTERP = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^}]*\})*))?\}"
                    r"|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(node, used, errors, where="compose"):
    """Resolves interpolation as if no variable were set (a deterministic check of the
    defaults); records every variable name in used."""
    if isinstance(node, dict):
        return {k: interpolate(v, used, errors, "%s.%s" % (where, k)) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, used, errors, "%s[%d]" % (where, i)) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        used.add(name)
        op, arg = m.group(2), m.group(3)
        if op in (":-", "-"):
            return interpolate(arg or "", used, errors, where)
        if op in (":?", "?"):
            errors.append("%s: ${%s} is required (%s) and has no default" % (where, name, arg))
            return ""
        return ""   # unset, or ${VAR:+alt} with VAR unset
    return INTERP.sub(sub, node)


# ---- the tree's facts ---------------------------------------------------------------------
def make_vars(report, prefix):
    """PROGS, PKGS, pkgdatadir and ALL_CFLAGS as the Makefile computes them (for PREFIX=prefix)."""
    rule = ("__mt_compose_check: ; $(info PROGS=$(PROGS)) $(info PKGS=$(PKGS)) "
            "$(info pkgdatadir=$(pkgdatadir)) $(info ALL_CFLAGS=$(ALL_CFLAGS)) @:")
    r = run(["make", "-s", "--no-print-directory", "O=build", "SANITIZE=", "PREFIX=" + prefix,
             "--eval", rule, "__mt_compose_check"])
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(PROGS|PKGS|pkgdatadir|ALL_CFLAGS)=(.*)$", line)
        if m:
            out[m.group(1)] = m.group(2)
    if r.returncode != 0 or len(out) != 4:
        report.fail("make prints PROGS, PKGS, pkgdatadir, ALL_CFLAGS", r.stdout[-2000:])
        return None
    return out


def build_programs(report, progs):
    # make decides what is stale; cheap when nothing changed
    r = run(["make", "-s", "-j%d" % (os.cpu_count() or 2), "O=build", "SANITIZE="] + list(progs))
    if r.returncode != 0:
        report.fail("make %s" % " ".join(progs), r.stdout[-3000:])
        return False
    return True


def parse_help(text):
    """(set of MINTRACE_* names, {name: default}, set of long options, [commands])"""
    env, defaults, longs, commands = set(), {}, set(), []
    section = None
    for line in text.splitlines():
        if re.match(r"^Environment", line):
            section = "env"
            continue
        if re.match(r"^commands:", line):
            section = "commands"
            continue
        if line and not line.startswith(" "):
            section = None
        if section == "env":
            m = re.match(r"^\s+(MINTRACE_[A-Z0-9_]+)\s*(.*?)\s*(?:\[([^\]]*)\])?\s*$", line)
            if m:
                env.add(m.group(1))
                if m.group(3) is not None:
                    defaults[m.group(1)] = m.group(3)
        elif section == "commands":
            m = re.match(r"^\s+([a-z][a-z0-9-]*)\s", line)
            if m:
                commands.append(m.group(1))
        for m in re.finditer(r"(?<![\w-])--([a-z][a-z0-9-]*)", line):
            longs.add(m.group(1))
    return env, defaults, longs, commands


class Programs:
    """--help of the built programs, asked once each."""

    def __init__(self, report, progs):
        self.report = report
        self.paths = {os.path.basename(p): p for p in progs}
        self.cache = {}

    def help(self, argv):
        key = tuple(argv)
        if key not in self.cache:
            prog = self.paths[argv[0]]
            r = run([os.path.join(ROOT, prog)] + list(argv[1:]) + ["--help"])
            if r.returncode != 0 or not re.search(r"^usage:", r.stdout, re.I | re.M):
                self.cache[key] = None
                self.report.fail("%s --help" % " ".join(argv), r.stdout[-1500:])
            else:
                self.cache[key] = parse_help(r.stdout)
        return self.cache[key]


def stage_inputs():
    """program name -> its first input topic (short name), from services/<dir>/main.c."""
    out = {}
    for main in glob.glob(os.path.join(ROOT, "services", "*", "main.c")):
        d = os.path.basename(os.path.dirname(main))
        m = re.search(r"inputs\[\]\s*=\s*\{\s*\"([^\"]+)\"", read(main))
        if m:
            out["mintrace" if d == "mintrace" else "mintrace-" + d] = m.group(1)
    return out


def kafka_sh_properties(report):
    path = os.path.join(ROOT, "tests", "kafka", "kafka.sh")
    text = read(path)
    m = re.search(r"server\.properties\"\s*<<EOF\n(.*?)\nEOF", text, re.S)
    if not m:
        report.fail("tests/kafka/kafka.sh: found the server.properties heredoc")
        return None
    props = {}
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = re.sub(r"\$\{?(rf|isr|n)\}?", lambda v: KAFKA_SH_ONE_NODE[v.group(1)], value)
        props[name] = value
    return props


def pom_kafka_version(report):
    path = os.path.join(ROOT, "tests", "kafka", "pom.xml")
    tree = ET.parse(path)
    for el in tree.iter():
        if el.tag.split("}")[-1] == "kafka.version":
            return (el.text or "").strip()
    report.fail("tests/kafka/pom.xml has <kafka.version>")
    return None


def bash_array(text, name):
    m = re.search(r"^%s=\(([^)]*)\)" % re.escape(name), text, re.M)
    return m.group(1).split() if m else None


# ---- the Dockerfile ---------------------------------------------------------------------------
def parse_dockerfile(path):
    """[{'from':image,'name':alias,'instr':[(INSTR, args)]}] with continuation lines joined."""
    lines, buf = [], ""
    for raw in read(path).splitlines():
        s = raw.strip()
        if not buf and (not s or s.startswith("#")):
            continue
        if buf and s.startswith("#"):
            continue   # comment inside a continued instruction
        if s.endswith("\\"):
            buf += s[:-1] + " "
            continue
        lines.append(buf + s)
        buf = ""
    if buf:
        lines.append(buf)
    stages = []
    for line in lines:
        instr, _, args = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            m = re.match(r"^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            stages.append({"from": m.group(1), "name": m.group(2), "instr": []})
        elif stages:
            stages[-1]["instr"].append((instr, args.strip()))
    return stages


def apt_packages(stage):
    pkgs = []
    for instr, args in stage["instr"]:
        if instr != "RUN":
            continue
        for m in re.finditer(r"apt-get\s+install\s+([^&;|]*)", args):
            pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
    return pkgs


# ---- compose helpers ----------------------------------------------------------------------
def as_list(v):
    if v is None:
        return []
    if isinstance(v, str):
        return shlex.split(v)   # compose splits a string command like a shell
    return [str(x) for x in v]


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): ("" if v is None else str(v)) for k, v in env.items()}


def depends_of(svc):
    d = svc.get("depends_on") or {}
    if isinstance(d, list):
        return {t: {"condition": "service_started"} for t in d}
    return {t: (c or {"condition": "service_started"}) for t, c in d.items()}


def replicas_of(svc):
    dep = svc.get("deploy") or {}
    r = dep.get("replicas", 1)
    try:
        return int(r)
    except (TypeError, ValueError):
        return -1


def volume_targets(svc):
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target"), v.get("type")))
        else:
            parts = str(v).split(":")
            if len(parts) == 1:
                out.append((None, parts[0], "volume"))
            else:
                out.append((parts[0], parts[1], "bind" if parts[0].startswith((".", "/", "~")) else "volume"))
    return out


def under(path, prefix):
    prefix = prefix.rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def option_value(argv, longs, shorts):
    """the value of --long VALUE / --long=VALUE / -s VALUE in argv, or None."""
    for i, a in enumerate(argv):
        for lo in longs:
            if a == "--" + lo and i + 1 < len(argv):
                return argv[i + 1]
            if a.startswith("--" + lo + "="):
                return a.split("=", 1)[1]
        for sh in shorts:
            if a == "-" + sh and i + 1 < len(argv):
                return argv[i + 1]
    return None


def kafka_prop_name(env_name):
    """the apache/kafka image's rule: KAFKA_ + name with . -> _, _ -> __, - -> ___."""
    s = env_name[len("KAFKA_"):].lower()
    return s.replace("___", "\0").replace("__", "\1").replace("_", ".").replace("\0", "-").replace("\1", "_")


def parse_listeners(value):
    out = {}
    for item in (value or "").split(","):
        item = item.strip()
        m = re.match(r"^([A-Za-z0-9_]+)://([^:]*):(\d+)$", item)
        if m:
            out[m.group(1)] = (m.group(2), int(m.group(3)))
        elif item:
            out[item] = None
    return out


# ---- the checks ---------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description="docker-compose.yml and deploy/Dockerfile consistency")
    ap.add_argument("--compose", default=os.path.join(ROOT, "docker-compose.yml"))
    ap.add_argument("--dockerfile", default=None,
                    help="default: the dockerfile the compose services build from")
    args = ap.parse_args()
    rep = Report()

    try:
        import yaml
    except ImportError:
        rep.fail("import yaml", "PyYAML is missing: apt-get install python3-yaml "
                 "(deploy/install-deps.sh installs it)")
        return finish(rep)

    try:
        raw = yaml.safe_load(read(args.compose))
    except (OSError, yaml.YAMLError) as e:
        rep.fail("%s parses as YAML" % rel(args.compose), str(e))
        return finish(rep)
    used_vars, interp_errors = set(), []
    doc = interpolate(raw, used_vars, interp_errors)
    rep.check("%s: interpolation has defaults for everything" % rel(args.compose), interp_errors)
    services = doc.get("services") or {}
    if not services:
        rep.fail("%s has services" % rel(args.compose))
        return finish(rep)

    # which dockerfile is ours
    ours, dockerfiles = {}, set()
    for name, svc in services.items():
        b = svc.get("build")
        if b is None:
            continue
        if isinstance(b, str):
            b = {"context": b}
        ctx = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(args.compose)), b.get("context", ".")))
        df = os.path.normpath(os.path.join(ctx, b.get("dockerfile", "Dockerfile")))
        ours[name] = svc
        dockerfiles.add(df)
    problems = []
    if not ours:
        problems.append("no service is built from a Dockerfile")
    if len(dockerfiles) > 1:
        problems.append("services build from several Dockerfiles: %s" % ", ".join(map(rel, dockerfiles)))
    for df in dockerfiles:
        if not os.path.isfile(df):
            problems.append("%s does not exist" % rel(df))
    images = {svc.get("image") for svc in ours.values()}
    if len(images) > 1:
        problems.append("the services built from it are tagged differently: %s" % ", ".join(map(str, images)))
    rep.check("mintrace services build one image from %s" % ", ".join(map(rel, dockerfiles)), problems)
    dockerfile = args.dockerfile or (sorted(dockerfiles)[0] if dockerfiles else
                                     os.path.join(ROOT, "deploy", "Dockerfile"))
    mintrace_image = next(iter(images)) if len(images) == 1 else None
    for name, svc in services.items():
        if name not in ours and mintrace_image and svc.get("image") == mintrace_image:
            ours[name] = svc

    # ---- the Dockerfile's stages (needed for the prefix and ENTRYPOINT) ----
    stages = parse_dockerfile(dockerfile) if os.path.isfile(dockerfile) else []
    prefix = "/usr/local"
    for st in stages:
        for instr, a in st["instr"]:
            m = re.search(r"make\s+install\b[^&;]*\bPREFIX=(\S+)", a) if instr == "RUN" else None
            if m:
                prefix = m.group(1)

    mk = make_vars(rep, prefix)
    if mk is None:
        return finish(rep)
    progs = mk["PROGS"].split()
    prog_names = {os.path.basename(p) for p in progs}
    if not build_programs(rep, progs):
        return finish(rep)
    P = Programs(rep, progs)
    top = P.help(["mintrace"]) if "mintrace" in prog_names else None
    mintrace_commands = top[3] if top else []

    entrypoint_img = []
    if stages:
        for instr, a in stages[-1]["instr"]:
            if instr == "ENTRYPOINT":
                entrypoint_img = as_list(yaml.safe_load(a)) if a.startswith("[") else a.split()

    # ---- programs and settings, per mintrace service ----
    known_anywhere = set()
    svc_argv, svc_help = {}, {}
    for name, svc in sorted(ours.items()):
        ep = as_list(svc["entrypoint"]) if "entrypoint" in svc else entrypoint_img
        argv = ep + as_list(svc.get("command"))
        svc_argv[name] = argv
        problems = []
        if not argv:
            problems.append("no command: the image's CMD is only --help")
        elif argv[0] not in prog_names:
            problems.append("runs %r; the Makefile builds %s" % (argv[0], ", ".join(sorted(prog_names))))
        elif argv[0] == "mintrace":
            if len(argv) < 2 or (argv[1] not in mintrace_commands and argv[1] not in ("--help", "-h")):
                problems.append("mintrace command %r is none of: %s" % (argv[1:2], ", ".join(mintrace_commands)))
        rep.check("%s: runs %s, a program the Makefile builds" % (name, " ".join(argv[:2]) or "?"), problems)
        if problems:
            continue
        help_argv = argv[:2] if argv[0] == "mintrace" and argv[1] in mintrace_commands else argv[:1]
        if help_argv == ["mintrace"]:
            # the CLI with no command yet (docker compose run cli COMMAND): any command's settings
            hs = [P.help(["mintrace", c]) for c in mintrace_commands]
            if None in hs:
                continue
            h = (set().union(*(x[0] for x in hs)), {k: v for x in hs for k, v in x[1].items()},
                 set().union(*(x[2] for x in hs)), [])
            help_argv = ["mintrace <command>"]
        else:
            h = P.help(help_argv)
        if h is None:
            continue
        svc_help[name] = h
        env_known, _defaults, longs, _ = h
        known_anywhere |= env_known
        env = env_of(svc)
        bad = [k for k in env if k.startswith("MINTRACE_") and k not in env_known]
        rep.check("%s: MINTRACE_* variables are ones `%s --help` lists" % (name, " ".join(help_argv)),
                  ["%s is not a setting of %s (it knows %s)" % (k, " ".join(help_argv), ", ".join(sorted(env_known)))
                   for k in bad])
        opts = [a for a in argv[len(help_argv):] if a.startswith("--")]
        badopt = [o for o in opts if o.split("=", 1)[0][2:] not in longs and o not in ("--help",)]
        if opts:
            rep.check("%s: command-line options exist" % name,
                      ["%s: no such option of %s" % (o, " ".join(help_argv)) for o in badopt])

    mt_vars = sorted(v for v in used_vars if v.startswith("MINTRACE_"))
    rep.check("variables the compose file reads from the shell: MINTRACE_* ones are program settings",
              ["${%s} is no program's setting: give compose-only knobs another prefix (MT_)" % v
               for v in mt_vars if v not in known_anywhere])

    def setting(name, env_name, longs=(), shorts=()):
        """effective value of a setting for a service: command line, else environment, else
        the program's default; None when unset."""
        argv, h = svc_argv.get(name, []), svc_help.get(name)
        v = option_value(argv, longs, shorts)
        if v is not None:
            return v
        env = env_of(services[name])
        if env_name in env:
            return env[env_name]
        return h[1].get(env_name) if h else None

    for what, env_name, longs, shorts in (("topic prefix", "MINTRACE_TOPIC_PREFIX", ("topic-prefix",), ()),
                                          ("network id", "MINTRACE_NETWORK_ID", (), ())):
        vals = {n: setting(n, env_name, longs, shorts) for n in sorted(svc_help)}
        distinct = sorted({str(v) for v in vals.values()})
        rep.check("one %s across the mintrace services (%s)" % (what, ", ".join(distinct)),
                  [] if len(distinct) == 1 else ["%s: %s" % (n, v) for n, v in sorted(vals.items())])
    prefixes = {setting(n, "MINTRACE_TOPIC_PREFIX", ("topic-prefix",)) for n in svc_help}
    rep.check("the topic prefix is a valid start of a Kafka topic name",
              ["%r has characters Kafka refuses" % p for p in prefixes
               if p is not None and not re.match(r"^[A-Za-z0-9._-]*$", p)])

    # ---- kafka ----
    kafkas = [n for n, s in services.items() if str(s.get("image", "")).startswith("apache/kafka")]
    kafka = services[kafkas[0]] if len(kafkas) == 1 else None
    rep.check("one Kafka service (apache/kafka image)",
              [] if kafka else ["found %d: %s" % (len(kafkas), ", ".join(kafkas))])
    advertised = listeners = {}
    kafka_hosts = set()
    if kafka:
        kname = kafkas[0]
        kenv = env_of(kafka)
        kprops = {kafka_prop_name(k): v for k, v in kenv.items() if k.startswith("KAFKA_")}
        want = pom_kafka_version(rep)
        tag = str(kafka["image"]).split(":", 1)[1] if ":" in str(kafka["image"]) else "latest"
        rep.check("kafka image apache/kafka:%s is tests/kafka/pom.xml's kafka.version (%s)" % (tag, want),
                  [] if tag == want else ["image tag %s, pom.xml kafka.version %s" % (tag, want)])
        ref = kafka_sh_properties(rep)
        if ref is not None:
            problems = []
            for p, v in sorted(ref.items()):
                if p in KAFKA_SH_SKIP:
                    continue
                got = kprops.get(p)
                if got is None:
                    problems.append("%s=%s (kafka.sh) is not set: KAFKA_%s" % (p, v, p.upper().replace(".", "_")))
                elif got.lower() != v.lower():
                    problems.append("%s: kafka.sh has %s, compose has %s" % (p, v, got))
            rep.check("kafka: the 1-node broker settings of tests/kafka/kafka.sh (%d of them)"
                      % len([p for p in ref if p not in KAFKA_SH_SKIP]), problems)
        listeners = parse_listeners(kprops.get("listeners"))
        advertised = parse_listeners(kprops.get("advertised.listeners"))
        pmap = dict(x.split(":", 1) for x in (kprops.get("listener.security.protocol.map") or "").split(",") if ":" in x)
        controllers = set((kprops.get("controller.listener.names") or "").split(","))
        problems = []
        for n, hp in listeners.items():
            if hp is None:
                problems.append("listener %r does not parse as NAME://host:port" % n)
            if n not in pmap:
                problems.append("listener %s has no security protocol in listener.security.protocol.map" % n)
        for n, hp in advertised.items():
            if n not in listeners:
                problems.append("advertised listener %s is not in listeners" % n)
            elif hp and listeners[n] and hp[1] != listeners[n][1]:
                problems.append("%s is advertised on port %d but listens on %d" % (n, hp[1], listeners[n][1]))
            if n in controllers:
                problems.append("controller listener %s must not be advertised" % n)
        ibl = kprops.get("inter.broker.listener.name")
        if ibl not in advertised:
            problems.append("inter.broker.listener.name %s is not an advertised listener" % ibl)
        if not controllers & set(listeners):
            problems.append("no controller listener (controller.listener.names) among the listeners")
        rep.check("kafka: listeners, advertised listeners, protocol map agree", problems)

        kafka_hosts = {kname, str(kafka.get("hostname") or ""), str(kafka.get("container_name") or "")} - {""}
        for net in (kafka.get("networks") or {}).values() if isinstance(kafka.get("networks"), dict) else []:
            kafka_hosts |= set((net or {}).get("aliases") or [])
        problems = []
        roles = set((kprops.get("process.roles") or "").split(","))
        if roles != {"broker", "controller"}:
            problems.append("process.roles is %r, want broker,controller (one combined node)" % kprops.get("process.roles"))
        voters = kprops.get("controller.quorum.voters") or ""
        cport = [hp[1] for n, hp in listeners.items() if n in controllers and hp]
        m = re.match(r"^(\d+)@([^:]+):(\d+)$", voters)
        if not m:
            problems.append("controller.quorum.voters %r is not one NODE@host:port" % voters)
        else:
            if m.group(1) != str(kprops.get("node.id")):
                problems.append("the voter's id %s is not node.id %s" % (m.group(1), kprops.get("node.id")))
            if m.group(2) not in kafka_hosts:
                problems.append("the voter's host %s is not this service (%s)" % (m.group(2), ", ".join(sorted(kafka_hosts))))
            if int(m.group(3)) not in cport:
                problems.append("the voter's port %s is not the controller listener's (%s)" % (m.group(3), cport))
        if not re.match(r"^[A-Za-z0-9_-]{22}$", kenv.get("CLUSTER_ID", "")):
            problems.append("CLUSTER_ID is not a Kafka Uuid (22 characters of URL-safe base64)")
        rep.check("kafka: KRaft combined node, its quorum and cluster id", problems)

        problems = []
        hc = kafka.get("healthcheck") or {}
        test = hc.get("test")
        if not test or hc.get("disable") or (isinstance(test, list) and test[:1] == ["NONE"]):
            problems.append("no healthcheck")
        elif isinstance(test, list):
            txt = " ".join(test)
            hp = re.search(r"--bootstrap-server\s+([^\s:]+):(\d+)", txt)
            if hp and not any(a and a[1] == int(hp.group(2)) for a in advertised.values()):
                problems.append("the healthcheck asks port %s, no listener of the services" % hp.group(2))
        rep.check("kafka: has a healthcheck", problems)

        problems = []
        host_ok = False
        for p in kafka.get("ports") or []:
            s = str(p).split("/")[0]
            parts = s.split(":")
            hostp, contp = (parts[-2], parts[-1]) if len(parts) >= 2 else (parts[-1], parts[-1])
            for n, hp in advertised.items():
                if hp and hp[1] == int(contp) and hp[0] in ("localhost", "127.0.0.1") and hostp == contp == "9092":
                    host_ok = True
        if not host_ok:
            problems.append("no listener advertised as localhost:9092 and published on the host's 9092")
        rep.check("kafka: a host listener on 9092", problems)

        problems = []
        logdirs = kprops.get("log.dirs", "")
        if not any(t and under(logdirs, t) for _s, t, _ty in volume_targets(kafka)):
            problems.append("log.dirs %s is not on a volume: the data would die with the container" % logdirs)
        rep.check("kafka: log.dirs on a volume", problems)

    # ---- brokers: every mintrace service talks to an advertised listener of the kafka service ----
    for name in sorted(svc_help):
        if svc_argv[name][:2] == ["mintrace", "--help"] and "MINTRACE_BROKERS" not in env_of(services[name]):
            continue
        b = setting(name, "MINTRACE_BROKERS", ("brokers",), ("b",))
        problems = []
        if not b:
            problems.append("no brokers (MINTRACE_BROKERS or -b)")
        else:
            for hp in b.split(","):
                host, _, port = hp.strip().rpartition(":")
                match = [n for n, a in advertised.items() if a and a[1] == int(port or 0)]
                if host not in kafka_hosts:
                    problems.append("%s: %s is not the kafka service (%s)" % (hp, host, ", ".join(sorted(kafka_hosts))))
                if not match:
                    problems.append("%s: no advertised listener on port %s (%s)" % (
                        hp, port, ", ".join("%s://%s:%d" % (n, a[0], a[1]) for n, a in advertised.items() if a)))
                elif host in kafka_hosts and not any(advertised[n][0] == host for n in match):
                    problems.append("%s: the listener on port %s advertises %s, which is not how this "
                                    "container reaches kafka" % (hp, port, advertised[match[0]][0]))
        rep.check("%s: brokers %s are a listener of the kafka service" % (name, b), problems)

    # ---- order: depends_on ----
    topics_svcs = [n for n in svc_argv if svc_argv[n][:3] == ["mintrace", "topics", "create"]]
    stage_svcs = [n for n in svc_argv if svc_argv[n] and svc_argv[n][0] in ("mintrace-validate", "mintrace-sign",
                                                                             "mintrace-aggregate", "mintrace-comply")]
    for name, svc in sorted(services.items()):
        deps = depends_of(svc)
        problems = []
        for t, c in deps.items():
            cond = (c or {}).get("condition", "service_started")
            if t not in services:
                problems.append("depends on %s, which is no service" % t)
                continue
            ts = services[t]
            if cond not in ("service_started", "service_healthy", "service_completed_successfully"):
                problems.append("%s: unknown condition %s" % (t, cond))
            if cond == "service_healthy" and not (ts.get("healthcheck") or {}).get("test"):
                problems.append("%s: waits for it to be healthy, but it has no healthcheck" % t)
            if cond == "service_completed_successfully":
                if str(ts.get("restart", "no")) not in ("no", "False", "false"):
                    problems.append("%s: waits for it to complete, but it restarts (%s)" % (t, ts.get("restart")))
                if replicas_of(ts) != 1:
                    problems.append("%s: waits for it to complete, but it has %d replicas" % (t, replicas_of(ts)))
        if kafka and (name in stage_svcs or name in topics_svcs):
            c = (deps.get(kafkas[0]) or {}).get("condition")
            if c != "service_healthy":
                problems.append("does not wait for %s to be healthy (condition: %s)" % (kafkas[0], c))
        if name in stage_svcs:
            if not topics_svcs:
                problems.append("no service runs `mintrace topics create`")
            for t in topics_svcs:
                c = (deps.get(t) or {}).get("condition")
                if c != "service_completed_successfully":
                    problems.append("does not wait for %s to complete (condition: %s)" % (t, c))
        if deps or name in stage_svcs:
            rep.check("%s: depends_on %s" % (name, ", ".join("%s (%s)" % (t, (c or {}).get("condition", "service_started"))
                                                            for t, c in deps.items()) or "nothing"), problems)
    # cycles
    seen, cyc = {}, []

    def visit(n, path):
        if seen.get(n) == 1:
            cyc.append(" -> ".join(path + [n]))
            return
        if seen.get(n) == 2 or n not in services:
            return
        seen[n] = 1
        for t in depends_of(services[n]):
            visit(t, path + [n])
        seen[n] = 2
    for n in services:
        visit(n, [])
    rep.check("depends_on has no cycle", cyc)

    problems = []
    for name in stage_svcs + [k for k in kafkas]:
        r = str(services[name].get("restart", "no"))
        if r not in ("always", "unless-stopped", "on-failure") and not r.startswith("on-failure:"):
            problems.append("%s: restart %s (a long-running service should come back)" % (name, r))
    for name in topics_svcs:
        if str(services[name].get("restart", "no")) not in ("no", "False", "false"):
            problems.append("%s: one-shot, restart must be \"no\"" % name)
    rep.check("restart policies: long-running services restart, one-shots do not", problems)

    # ---- secrets ----
    top_secrets = doc.get("secrets") or {}
    problems = []
    for sname, sdef in top_secrets.items():
        sdef = sdef or {}
        if "file" not in sdef and not sdef.get("external"):
            problems.append("secret %s is not from a file (%s)" % (sname, ", ".join(sdef) or "no source"))
        if "environment" in sdef or "content" in sdef:
            problems.append("secret %s takes its value from %s, not a file" % (
                sname, "environment" if "environment" in sdef else "inline content"))
    rep.check("top-level secrets come from files", problems)
    key_holders = []
    for name in sorted(svc_help):
        kf = setting(name, "MINTRACE_KEY_FILE", ("key",), ("k",))
        if svc_argv[name][:2] == ["mintrace", "--help"] or not kf:
            continue
        key_holders.append(name)
        svc = services[name]
        sec_names = [s if isinstance(s, str) else s.get("source") for s in svc.get("secrets") or []]
        sec_targets = {}
        for s in svc.get("secrets") or []:
            if isinstance(s, str):
                sec_targets["/run/secrets/" + s] = s
            else:
                t = s.get("target") or s.get("source")
                sec_targets[t if t.startswith("/") else "/run/secrets/" + t] = s.get("source")
        problems = []
        if kf in sec_targets:
            src = sec_targets[kf]
            if src not in top_secrets:
                problems.append("secret %s is not defined at the top level" % src)
        elif not any(t and under(kf, t) and ty == "bind" for _s, t, ty in volume_targets(svc)):
            problems.append("key file %s is neither a secret of this service (%s) nor on a bind mount"
                            % (kf, ", ".join(sec_names) or "none"))
        rep.check("%s: its secret key %s comes from a file" % (name, kf), problems)
    # Two programs hold a secret key: the notary (sign) and the journal's writer (aggregate).
    # Each key reaches its one program and no other service gets any secret.
    signers = [n for n in stage_svcs if svc_argv[n][0] in ("mintrace-sign", "mintrace-aggregate")]
    owners = {}
    for n in ours:
        for sec in services[n].get("secrets") or []:
            owners.setdefault(sec if isinstance(sec, str) else sec.get("source"), []).append(n)
    rep.check("secret keys reach mintrace-sign and mintrace-aggregate only, one key each (%s)"
              % (", ".join(key_holders) or "nobody"),
              ([] if signers and set(key_holders) == set(signers) else
               ["key files given to %s; sign/aggregate run in %s" % (", ".join(key_holders) or "nobody",
                                                                      ", ".join(signers) or "no service")]) +
              ["%s: has secrets %s but holds no key" % (n, services[n].get("secrets"))
               for n in ours if services[n].get("secrets") and n not in signers] +
              ["secret %s is given to %s: one key, one service" % (k, ", ".join(v))
               for k, v in sorted(owners.items()) if len(v) > 1])
    problems = []
    for name, svc in sorted(services.items()):
        for k, v in env_of(svc).items():
            if re.search(r"[0-9a-fA-F]{64}", v) or "secret v1" in v or "PRIVATE KEY" in v:
                problems.append("%s: %s holds what looks like key material" % (name, k))
            low = k.lower()
            if any(p in low for p in SECRET_NAME_PARTS) and v and not v.startswith("/"):
                problems.append("%s: %s is secret-looking and set inline (use a file)" % (name, k))
    rep.check("no key material or secret-looking setting inline", problems)
    problems = []
    for name in stage_svcs:
        for env_name, lo, sh in (("MINTRACE_REGISTRY_FILE", "registry", "r"),
                                 ("MINTRACE_GOVERNANCE_KEY", "governance-key", "g")):
            p = setting(name, env_name, (lo,), (sh,))
            if not p:
                problems.append("%s: %s is not set" % (name, env_name))
            elif not any(t and under(p, t) for _s, t, _ty in volume_targets(services[name])):
                problems.append("%s: %s=%s is on no volume of the service" % (name, env_name, p))
    rep.check("stages: registry and governance key are set and on a mount", problems)

    # ---- scaling ----
    topics_json = os.path.join(ROOT, "schemas", "topics.json")
    parts = {t["name"]: t["partitions"] for t in json.loads(read(topics_json))["topics"]}
    inputs = stage_inputs()
    for name in sorted(stage_svcs):
        prog = svc_argv[name][0]
        n = replicas_of(services[name])
        inp = inputs.get(prog)
        problems = []
        if n < 1:
            problems.append("replicas %r" % (services[name].get("deploy") or {}).get("replicas"))
        elif inp and inp in parts and n > parts[inp]:
            problems.append("%d replicas but %s has %d partitions: the rest would idle" % (n, inp, parts[inp]))
        if prog == "mintrace-validate" and n < 2:
            problems.append("validate runs 1 replica; it is meant to run replicated (deploy.replicas)")
        if n > 1:
            svc = services[name]
            for k in ("container_name", "hostname"):
                if svc.get(k):
                    problems.append("%s is fixed (%s): replicas need their own (the transactional id "
                                    "has the host name)" % (k, svc[k]))
            if "MINTRACE_TRANSACTIONAL_ID" in env_of(svc):
                problems.append("MINTRACE_TRANSACTIONAL_ID is fixed: replicas would fence each other")
        rep.check("%s: %d replica(s) of %s, input %s (%s partitions)" % (
            name, n, prog, inp, parts.get(inp, "?")), problems)

    # ---- the image ----
    check_image(rep, dockerfile, stages, mk, prefix)
    return finish(rep)


def check_image(rep, dockerfile, stages, mk, prefix):
    name = rel(dockerfile)
    if len(stages) < 2:
        rep.fail("%s: a builder stage and a runtime stage" % name, "found %d FROM lines" % len(stages))
        return
    builder_names = {s["name"] for s in stages[:-1] if s["name"]}
    build, runtime = stages[0], stages[-1]
    rep.check("%s: both stages FROM debian:bookworm-slim (Debian 12, like deploy/install-deps.sh)" % name,
              ["%s stage is FROM %s" % (w, s["from"]) for w, s in (("builder", build), ("runtime", runtime))
               if s["from"] != "debian:bookworm-slim"])
    bpk, rpk = apt_packages(build), apt_packages(runtime)
    deps_sh = read(os.path.join(ROOT, "deploy", "install-deps.sh"))
    build_pkgs = bash_array(deps_sh, "build_pkgs") or []
    rep.check("%s: the builder installs deploy/install-deps.sh's build_pkgs" % name,
              ["%s is missing" % p for p in build_pkgs if p not in bpk] +
              ([] if build_pkgs else ["build_pkgs not found in deploy/install-deps.sh"]))
    problems = []
    for pc in mk["PKGS"].split():
        if pc not in PKG_TABLE:
            problems.append("Makefile PKGS has %s, which tests/compose_check.py's PKG_TABLE does not map "
                            "to Debian packages: add it" % pc)
        elif PKG_TABLE[pc][0] not in bpk:
            problems.append("%s (pkg-config %s) is not installed in the builder" % (PKG_TABLE[pc][0], pc))
    if "protoc-c" in read(os.path.join(ROOT, "Makefile")) and "protobuf-c-compiler" not in bpk:
        problems.append("the Makefile runs protoc-c: protobuf-c-compiler is not installed in the builder")
    rep.check("%s: the builder has a -dev package for each of the Makefile's PKGS (%s)" % (name, mk["PKGS"]),
              problems)

    dev_to_rt = {d: r for d, r in PKG_TABLE.values()}
    want_rt = set()
    problems = []
    for p in bpk:
        if p.endswith("-dev"):
            if p in dev_to_rt:
                want_rt.add(dev_to_rt[p])
            elif p not in DEV_WITHOUT_RUNTIME:
                problems.append("builder installs %s, which has no runtime package in the table" % p)
    for r in sorted(want_rt - set(rpk)):
        problems.append("runtime lacks %s (runtime of %s)" % (r, [d for d, x in dev_to_rt.items() if x == r][0]))
    for r in rpk:
        if r.endswith("-dev") or r in BUILD_TOOLS:
            problems.append("runtime installs the build package %s" % r)
        elif r not in want_rt and r not in RUNTIME_EXTRAS:
            problems.append("runtime installs %s, the runtime of no -dev package of the builder" % r)
    rep.check("%s: runtime packages (%s) are the runtime libraries of the builder's -dev packages"
              % (name, " ".join(rpk)), problems)

    problems = []
    user = None
    for instr, a in runtime["instr"]:
        if instr == "USER":
            user = a.split(":")[0]
    if user in (None, "root", "0"):
        problems.append("the runtime stage runs as %s" % (user or "root (no USER)"))
    elif not any(instr == "RUN" and re.search(r"\b(useradd|adduser)\b.*\b%s\b" % re.escape(user), a)
                 for instr, a in runtime["instr"]):
        problems.append("user %s is never created (useradd)" % user)
    rep.check("%s: runs as a non-root user (%s)" % (name, user), problems)

    problems = []
    destdir = None
    for instr, a in build["instr"]:
        m = re.search(r"make\s+install\b[^&;]*", a) if instr == "RUN" else None
        if m:
            d = re.search(r"\bDESTDIR=(\S+)", m.group(0))
            destdir = d.group(1) if d else ""
    if destdir is None:
        problems.append("the builder never runs make install")
    else:
        staged = destdir.rstrip("/") + prefix
        copies = []
        for instr, a in runtime["instr"]:
            if instr == "COPY":
                m = re.match(r"^--from=(\S+)\s+(\S+)\s+(\S+)$", a)
                if m and (m.group(1) in builder_names or m.group(1) == "0"):
                    copies.append((m.group(2).rstrip("/"), m.group(3).rstrip("/")))
        for what in ("/bin", "/share/mintrace"):
            src = staged + what
            hit = [(s, d) for s, d in copies if s == src or under(src, s)]
            if not hit:
                problems.append("%s (make install's %s) is not copied into the runtime stage" % (src, prefix + what))
            else:
                s, d = hit[0]
                if d + src[len(s):] != prefix + what:
                    problems.append("%s lands in %s, not %s" % (src, d + src[len(s):], prefix + what))
    if mk["pkgdatadir"] != prefix + "/share/mintrace":
        problems.append("the Makefile's pkgdatadir for PREFIX=%s is %s" % (prefix, mk["pkgdatadir"]))
    if "-DMT_DATADIR='\"%s\"'" % mk["pkgdatadir"] not in mk["ALL_CFLAGS"]:
        problems.append("the Makefile does not compile MT_DATADIR=%s into the programs" % mk["pkgdatadir"])
    inst = re.search(r"^install:.*?(?=^\S|\Z)", read(os.path.join(ROOT, "Makefile")), re.S | re.M)
    if not inst or "schemas/topics.json" not in inst.group(0) or "$(pkgdatadir)" not in inst.group(0):
        problems.append("the Makefile's install target does not put schemas/topics.json in $(pkgdatadir)")
    rep.check("%s: make install PREFIX=%s; programs and topics.json land where the programs look (%s)"
              % (name, prefix, mk["pkgdatadir"]), problems)


def finish(rep):
    print("compose: %d passed, %d failed" % (rep.passed, rep.failed))
    return 1 if rep.failed else 0


if __name__ == "__main__":
    sys.exit(main())
