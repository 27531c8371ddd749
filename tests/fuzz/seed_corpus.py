#!/usr/bin/env python3
"""Writes the seed corpus of the config.json fuzzers (tests/fuzz/corpus/).

  tests/fuzz/seed_corpus.py --nsbox build/nsbox \
      --spec-dir /work/shared/oci-runtime-spec [--out tests/fuzz/corpus]

Seeds (descriptive names; libFuzzer's -merge adds SHA1-named files next to
them):
  default*        the config.json `nsbox spec` writes (also --rootless and
                  --seccomp-default), and its linux.resources
  spec-*          the JSON examples of the runtime spec's config.md and
                  config-linux.md; fragments are merged into the default config
                  (config-linux.md's under "linux", resource ones under
                  linux.resources and also, alone, as `update --resources` documents)
  hostile-*       wrong types, out-of-range and huge numbers, unsupported
                  fields, namespace dependencies, deep nesting, unicode, nulls,
                  broken JSON

Other files in the corpus are kept: regress-* (reproducers of fixed findings,
moved from tests/fuzz/crashes/) and the SHA1-named inputs of FUZZ_MERGE=1.
Inputs that currently crash a fuzzer do not belong here (libFuzzer stops on a
crashing seed, and `make test` runs this corpus): they go to tests/fuzz/crashes/.
"""

import argparse
import copy
import json
import os
import re
import subprocess
import sys
import tempfile

RESOURCE_KEYS = {"devices", "memory", "cpu", "pids", "blockIO", "hugepageLimits", "network",
                 "rdma", "unified"}


SEED_PREFIXES = ("default", "spec-", "hostile-")
LINUX_KEYS = {"namespaces", "uidMappings", "gidMappings", "timeOffsets", "devices", "netDevices",
              "cgroupsPath", "rootfsPropagation", "resources", "sysctl", "seccomp",
              "maskedPaths", "readonlyPaths", "mountLabel", "intelRdt", "personality",
              "memoryPolicy"}


def is_resources(frag):
    """A linux.resources fragment: resource keys only, and "devices" as
    cgroup rules ({"allow": ...}), not linux.devices ({"path": ...})."""
    if not frag or not set(frag) <= RESOURCE_KEYS:
        return False
    devices = frag.get("devices", [])
    return all(isinstance(x, dict) and "allow" in x for x in devices)


def dump(doc):
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    if len(text) > 8192:  # long lists (the seccomp profile): one line
        text = json.dumps(doc, ensure_ascii=False)
    return text.encode() + b"\n"


def default_config(nsbox, *flags):
    """The config.json `nsbox spec FLAGS` writes; None when the flags are unknown."""
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([nsbox, "spec", *flags], cwd=d, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return None
        with open(os.path.join(d, "config.json"), encoding="utf-8") as f:
            return json.load(f)


def spec_blocks(path):
    """The ```json blocks of a spec page, parsed; fragments ("key": value, ...)
    are wrapped in braces. Blocks that are not JSON (elisions) are skipped."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for block in re.findall(r"^```json\n(.*?)^```", text, re.S | re.M):
        for candidate in (block, "{" + block + "}"):
            try:
                doc = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(doc, dict):
                yield doc
            break


def set_path(doc, path, value):
    """Copy of doc with doc[path[0]][path[1]]... = value (value None deletes)."""
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    if value is DELETE:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


DELETE = object()
U64_MAX = 2**64 - 1


def nested(depth, leaf, kind="array"):
    if kind == "array":
        return "[" * depth + leaf + "]" * depth
    return '{"a":' * depth + leaf + "}" * depth


def hostile_config(d):
    """(name, bytes) variants of the default config d."""
    ns_all = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")]
    edits = {
        # ociVersion
        "version-2": (["ociVersion"], "2.0.0"),
        "version-suffix": (["ociVersion"], "1.2.3-rc.1+meta"),
        "version-missing": (["ociVersion"], DELETE),
        # root and mounts
        "root-empty-path": (["root"], {"path": ""}),
        "root-missing": (["root"], DELETE),
        "mounts-null-item": (["mounts"], [None]),
        "mount-empty-destination": (["mounts"], [{"destination": ""}]),
        "mount-options-string": (["mounts"], [{"destination": "/x", "options": "ro"}]),
        "mount-idmapped": (["mounts"], [{"destination": "/x", "type": "bind", "source": "/",
                                         "uidMappings": [{"containerID": 0, "hostID": 0,
                                                          "size": 1}]}]),
        # process
        "args-empty": (["process", "args"], []),
        "args-string": (["process", "args"], "sh"),
        "cwd-relative": (["process", "cwd"], "home"),
        "terminal-true": (["process", "terminal"], True),
        "uid-negative": (["process", "user", "uid"], -1),
        "uid-2p32": (["process", "user", "uid"], 2**32),
        "uid-float": (["process", "user", "uid"], 1.0),
        "rlimit-soft-above-hard": (["process", "rlimits"],
                                   [{"type": "RLIMIT_NOFILE", "soft": 2, "hard": 1}]),
        "rlimit-duplicate": (["process", "rlimits"],
                             [{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}] * 2),
        "rlimit-unknown": (["process", "rlimits"], [{"type": "RLIMIT_BOGUS", "soft": 1,
                                                     "hard": 1}]),
        "rlimit-u64max": (["process", "rlimits"], [{"type": "RLIMIT_CORE", "soft": U64_MAX,
                                                    "hard": U64_MAX}]),
        "oom-score-2p31": (["process", "oomScoreAdj"], 2**31),
        "caps-mixed": (["process", "capabilities"], {"effective": ["CAP_CHOWN", 1],
                                                     "ambient": ["CAP_BOGUS"]}),
        "scheduler": (["process", "scheduler"], {"policy": "SCHED_FIFO", "priority": 1}),
        "io-priority": (["process", "ioPriority"], {"class": "IOPRIO_CLASS_RT",
                                                    "priority": 7}),
        # names, hooks, annotations
        "hostname-unicode": (["hostname"], "h\u00f8st-\u6f22\u5b57-\U0001f600"),
        "hooks-relative": (["hooks"], {"prestart": [{"path": "hook"}]}),
        "hooks-timeout-zero": (["hooks"], {"poststop": [{"path": "/bin/true", "timeout": 0}]}),
        "hooks-all": (["hooks"], {k: [{"path": "/bin/true", "args": ["true"], "env": ["A=1"],
                                       "timeout": 5}]
                                  for k in ("prestart", "createRuntime", "createContainer",
                                            "startContainer", "poststart", "poststop")}),
        "annotations-int": (["annotations"], {"a": 1}),
        "annotations-odd-keys": (["annotations"], {"": "", "k\u0000": "v", "a.b": "c",
                                                   "\U0001f600 \u00fc": "\u00fc",
                                                   "\"quoted\"": "x"}),
        # linux
        "ns-duplicate": (["linux", "namespaces"], [{"type": "pid"}, {"type": "pid"}]),
        "ns-unknown": (["linux", "namespaces"], [{"type": "bogus"}]),
        "ns-relative-path": (["linux", "namespaces"], [{"type": "network", "path": "netns"}]),
        "ns-join-self": (["linux", "namespaces"], ns_all[:3] + [{"type": "uts",
                                                                "path": "/proc/self/ns/uts"}]),
        "ns-user-no-maps": (["linux", "namespaces"], ns_all + [{"type": "user"}]),
        "maps-without-userns": (["linux", "uidMappings"], [{"containerID": 0, "hostID": 1000,
                                                            "size": 1}]),
        "time-offsets-no-ns": (["linux", "timeOffsets"], {"monotonic": {"secs": 1}}),
        "time-offsets-realtime": (["linux", "timeOffsets"], {"realtime": {"secs": 1}}),
        "time-offsets-nanosecs": (["linux", "timeOffsets"], {"boottime": {"nanosecs": 10**9}}),
        "devices-bad-type": (["linux", "devices"], [{"path": "/dev/x", "type": "cc"}]),
        "devices-relative": (["linux", "devices"], [{"path": "dev/x", "type": "c", "major": 1,
                                                     "minor": 3}]),
        "devices-huge": (["linux", "devices"], [{"path": "/dev/x", "type": "b",
                                                 "major": 2**63 - 1, "minor": -2**63,
                                                 "fileMode": 2**32}]),
        "sysctl-slashes": (["linux", "sysctl"], {"kernel/shmmax": "1", "net/core/somaxconn": "1",
                                                 "kernel/hostname": "h"}),
        "sysctl-host": (["linux", "sysctl"], {"vm.swappiness": "1"}),
        "propagation-bogus": (["linux", "rootfsPropagation"], "bogus"),
        # seccomp, personality, intelRdt, LSM labels, scheduler, ioPriority
        "seccomp-bad-action": (["linux", "seccomp"], {"defaultAction": "SCMP_ACT_BOGUS"}),
        "seccomp-args": (["linux", "seccomp"], {
            "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["personality", ""], "action": "SCMP_ACT_ERRNO",
                          "errnoRet": 1, "args": [{"index": 6, "value": U64_MAX,
                                                   "valueTwo": 0, "op": "SCMP_CMP_BOGUS"}]}]}),
        "seccomp-notify": (["linux", "seccomp"], {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "relative.sock",
            "listenerMetadata": "m\u00e9ta",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]}),
        "personality-bogus": (["linux", "personality"], {"domain": "LINUX64", "flags": ["x"]}),
        "intel-rdt-array": (["linux", "intelRdt"], []),
        "mount-label": (["linux", "mountLabel"], "system_u:object_r:container_file_t:s0"),
        "apparmor": (["process", "apparmorProfile"], "nsbox-default\n"),
        "selinux": (["process", "selinuxLabel"], "system_u:system_r:container_t:s0:c1,c2"),
        "scheduler-bogus": (["process", "scheduler"], {"policy": "SCHED_BOGUS", "nice": 2**31,
                                                       "flags": ["SCHED_FLAG_BOGUS"]}),
        "scheduler-deadline": (["process", "scheduler"], {
            "policy": "SCHED_DEADLINE", "runtime": 10**7, "deadline": 10**6, "period": 0,
            "flags": ["SCHED_FLAG_RESET_ON_FORK"]}),
        "io-priority-8": (["process", "ioPriority"], {"class": "IOPRIO_CLASS_BE",
                                                      "priority": 8}),
        "scheduler-other-priority": (["process", "scheduler"], {"policy": "SCHED_OTHER",
                                                                "priority": 1, "nice": 19}),
        "scheduler-nice": (["process", "scheduler"], {"policy": "SCHED_BATCH", "nice": -21}),
        "scheduler-fifo-runtime": (["process", "scheduler"], {"policy": "SCHED_FIFO",
                                                              "priority": 99, "runtime": 1}),
        "seccomp-notify-default": (["linux", "seccomp"], {"defaultAction": "SCMP_ACT_NOTIFY",
                                                          "listenerPath": "/run/agent.sock"}),
        "seccomp-notify-sendmsg": (["linux", "seccomp"], {
            "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
            "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]}),
    }
    out = []
    for name, (path, value) in edits.items():
        out.append((name, dump(set_path(d, path, value))))
    # The hostname needs a UTS namespace.
    no_uts = set_path(d, ["hostname"], "h")
    no_uts["linux"]["namespaces"] = [n for n in no_uts["linux"]["namespaces"]
                                     if n["type"] != "uts"]
    out.append(("hostname-no-uts", dump(no_uts)))
    # Net sysctls need a network namespace.
    no_net = set_path(d, ["linux", "sysctl"], {"net.ipv4.ip_forward": "1"})
    no_net["linux"]["namespaces"] = [n for n in no_net["linux"]["namespaces"]
                                     if n["type"] != "network"]
    out.append(("sysctl-net-no-netns", dump(no_net)))
    # SCHED_DEADLINE cannot fork the startContainer hooks without reset-on-fork.
    deadline = set_path(d, ["process", "scheduler"], {"policy": "SCHED_DEADLINE",
                                                      "runtime": 10**6, "deadline": 10**7,
                                                      "period": 10**7})
    deadline["hooks"] = {"startContainer": [{"path": "/bin/true"}]}
    out.append(("scheduler-deadline-hooks", dump(deadline)))
    # A new user and time namespace with what they need.
    full = copy.deepcopy(d)
    full["linux"]["namespaces"] += [{"type": "user"}, {"type": "time"}]
    full["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    full["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    full["linux"]["timeOffsets"] = {"monotonic": {"secs": -86400, "nanosecs": 999999999},
                                    "boottime": {"secs": 2**62}}
    full["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmax": "1",
                               "fs.mqueue.msg_max": "10", "kernel.domainname": "d"}
    full["linux"]["cgroupsPath"] = "/nsbox/fuzz"
    out.append(("userns-timens-sysctls", dump(full)))
    # Whole documents that are not config objects, or not JSON.
    text = dump(d)
    for name, raw in {
        "doc-empty": b"",
        "doc-null": b"null",
        "doc-array": b"[]",
        "doc-truncated": text[: len(text) // 2],
        "doc-trailing": text + b"{}",
        "doc-bom": b"\xef\xbb\xbf" + text,
        "doc-comment": b"/* c */" + text,
        "doc-nan": b'{"ociVersion": NaN}',
        "doc-duplicate-keys": b'{"ociVersion": "1.0.0", "ociVersion": "1.0.2", '
                              b'"root": {"path": "a"}, "root": {"path": "b"}}',
        "doc-escapes": b'{"ociVersion": "1.0.2", "root": {"path": "\\u0000\\ud83d\\ude00"}, '
                       b'"hostname": "\\t\\n\\u00e9"}',
        "doc-lone-surrogate": b'{"ociVersion": "1.0.2", "root": {"path": "\\ud800"}}',
        "doc-control-char": b'{"ociVersion": "1.0.2", "root": {"path": "a\x01b"}}',
        "doc-minimal": b'{"ociVersion":"1.0.2","root":{"path":"r"}}',
        "doc-nulls": b'{"ociVersion":"1.0.2","root":{"path":"r","readonly":null},"mounts":null,'
                     b'"process":null,"hostname":null,"hooks":null,"annotations":null,'
                     b'"linux":{"namespaces":null,"resources":null,"sysctl":null}}',
        "doc-long-string": b'{"ociVersion":"1.0.2","root":{"path":"' + b"a" * 4000 + b'"}}',
        "deep-array-ignored": b'{"ociVersion":"1.0.2","root":{"path":"r"},"vm":'
                              + nested(4000, "1").encode() + b"}",
        "deep-object-ignored": b'{"ociVersion":"1.0.2","root":{"path":"r"},"windows":'
                               + nested(1500, "1", "object").encode() + b"}",
        "deep-annotation": b'{"ociVersion":"1.0.2","root":{"path":"r"},"annotations":{"a":'
                           + nested(2000, '"x"').encode() + b"}}",
        "deep-unclosed": b'{"ociVersion":"1.0.2","root":{"path":"r"},"vm":' + b"[" * 5000,
    }.items():
        out.append((name, raw))
    return out


def hostile_resources(r):
    """(name, bytes) variants of the resources document r."""
    edits = {
        "memory-limit-minus-2": (["memory", "limit"], -2),
        "memory-swappiness-101": (["memory", "swappiness"], 101),
        "memory-array": (["memory"], []),
        "cpu-idle-2": (["cpu", "idle"], 2),
        "cpu-burst-above-quota": (["cpu"], {"quota": 1000, "burst": 2000, "period": 100000}),
        "cpu-quota-unlimited": (["cpu"], {"quota": -1, "burst": 2000}),
        "pids-minus-2": (["pids"], {"limit": -2}),
        "pids-empty": (["pids"], {}),
        "hugepage-bad-sizes": (["hugepageLimits"], [{"pageSize": "2mB", "limit": 1}]),
        "hugepage-ok": (["hugepageLimits"], [{"pageSize": "2MB", "limit": 2**21},
                                             {"pageSize": "1GB", "limit": 0}]),
        "unified-dotdot": (["unified"], {"../memory.max": "1"}),
        "unified-no-dot": (["unified"], {"memorymax": "1"}),
        "unified-ok": (["unified"], {"memory.high": "max", "io.weight": "default 100",
                                     "\u00fc.x": ""}),
        "rdma-empty": (["rdma"], {"mlx5_1": {}}),
        "rdma-ok": (["rdma"], {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}),
        "blockio-weight-device-no-weight": (["blockIO"], {"weightDevice": [{"major": 8,
                                                                            "minor": 0}]}),
        "blockio-weight-65536": (["blockIO"], {"weight": 65536}),
        "blockio-throttle-missing-rate": (["blockIO"], {"throttleReadBpsDevice":
                                                        [{"major": 8, "minor": 0}]}),
        "network-priorities": (["network"], {"classID": 1048577, "priorities":
                                             [{"name": "eth0", "priority": 500},
                                              {"name": "lo", "priority": 2**32}]}),
        "devices-bad-access": (["devices"], [{"allow": True, "access": "rwx"}]),
        "devices-bad-type": (["devices"], [{"allow": True, "type": "p"}]),
        "devices-wildcards": (["devices"], [{"allow": False, "type": "a", "major": -1,
                                             "minor": -1, "access": ""}]),
    }
    out = [(name, dump(set_path(r, path, value))) for name, (path, value) in edits.items()]
    for name, raw in {
        "doc-empty": b"",
        "doc-null": b"null",
        "doc-empty-object": b"{}",
        "doc-array": b"[]",
        "doc-truncated": dump(r)[:20],
        "doc-runc-update": b'{"memory":{"limit":536870912,"reservation":268435456,"swap":'
                           b'1073741824},"cpu":{"shares":512,"quota":50000,"period":100000,'
                           b'"cpus":"0","mems":"0"},"blockIO":{"weight":500},'
                           b'"pids":{"limit":100}}',
        "doc-nulls": b'{"memory":null,"cpu":{"quota":null},"pids":null,"unified":null}',
        "deep-ignored": b'{"unknown":' + nested(4000, "1").encode() + b"}",
        "deep-unified": b'{"unified":{"memory.max":' + nested(2000, '"1"', "object").encode()
                        + b"}}",
    }.items():
        out.append((name, raw))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nsbox", required=True, help="the nsbox binary (for `nsbox spec`)")
    ap.add_argument("--spec-dir", required=True, help="the OCI runtime-spec checkout")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "corpus"))
    args = ap.parse_args()

    d = default_config(args.nsbox)
    configs = [("default", dump(d))]
    for flag in ("--rootless", "--seccomp-default"):
        variant = default_config(args.nsbox, flag)
        if variant is not None:
            configs.append(("default" + flag[1:], dump(variant)))
    resources = [("default", dump(d["linux"]["resources"]))]

    for i, frag in enumerate(spec_blocks(os.path.join(args.spec_dir, "config.md")), 1):
        if "ociVersion" in frag and "root" in frag:
            configs.append((f"spec-config-{i:02}", dump(frag)))
        else:
            merged = copy.deepcopy(d)
            merged.update(frag)
            configs.append((f"spec-config-{i:02}", dump(merged)))
    for i, frag in enumerate(spec_blocks(os.path.join(args.spec_dir, "config-linux.md")), 1):
        frag = frag.get("linux", frag) if list(frag) == ["linux"] else frag
        merged = copy.deepcopy(d)
        if is_resources(frag):
            merged["linux"]["resources"].update(frag)
            resources.append((f"spec-linux-{i:02}", dump(frag)))
        elif set(frag) & LINUX_KEYS:
            merged["linux"].update(frag)
        else:
            continue  # not part of config.json (the seccomp agent's state)
        configs.append((f"spec-linux-{i:02}", dump(merged)))

    configs += [("hostile-" + n, b) for n, b in hostile_config(d)]
    resources += [("hostile-" + n, b) for n, b in hostile_resources(d["linux"]["resources"])]

    for fuzzer, seeds in (("config_fuzzer", configs), ("resources_fuzzer", resources)):
        out = os.path.join(args.out, fuzzer)
        os.makedirs(out, exist_ok=True)
        # Only this script's seeds are replaced: regress-* (fixed findings)
        # and merged (SHA1-named) inputs stay.
        for name in os.listdir(out):
            if name.startswith(SEED_PREFIXES):
                os.remove(os.path.join(out, name))
        for name, data in seeds:
            with open(os.path.join(out, name + ".json"), "wb") as f:
                f.write(data)
        print(f"{out}: {len(seeds)} seeds, {sum(len(b) for _, b in seeds)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
