// `sandbox [OPTIONS] [--] COMMAND [ARGS...]`: a throwaway container without a
// bundle (container/sandbox.h): flags -> SandboxOptions; the library builds
// the config and runs it like `run`.
#include "container/sandbox.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "cli/commands.h"
#include "common/util.h"
#include "container/store.h"

namespace nsbox::cli {

namespace {

Result<uint32_t> parse_id(const std::string& flag, const std::string& text) {
  long long v = 0;
  if (!parse_int64(text, &v) || v < 0 || v > 0xfffffffe) {
    return make_error(flag + ": expected a numeric ID, got " + nsbox::quoted(text));
  }
  return static_cast<uint32_t>(v);
}

Status parse_user(const std::string& text, container::SandboxOptions* o) {
  std::string flag = "--user " + text;
  size_t colon = text.find(':');
  auto uid = parse_id(flag, text.substr(0, colon));
  if (!uid) return std::move(uid).error();
  o->uid = *uid;
  if (colon != std::string::npos) {
    auto gid = parse_id(flag, text.substr(colon + 1));
    if (!gid) return std::move(gid).error();
    o->gid = *gid;
  }
  return {};
}

// --bind SRC:DST[:ro|:rw]
Result<container::SandboxBind> parse_bind(const std::string& text) {
  auto parts = split(text, ':');
  std::string flag = "--bind " + text;
  if (parts.size() == 3 && parts[2] != "ro" && parts[2] != "rw") {
    return make_error(flag + ": expected SRC:DST[:ro], the last part is " +
                      nsbox::quoted(parts[2]));
  }
  if ((parts.size() != 2 && parts.size() != 3) || parts[0].empty() || parts[1].empty()) {
    return make_error(flag + ": expected SRC:DST[:ro]");
  }
  return container::SandboxBind{parts[0], parts[1], parts.size() == 3 && parts[2] == "ro"};
}

Status parse_resources(const Parsed& p, container::SandboxOptions* o) {
  if (p.has("memory")) {
    long long v = 0;
    if (!parse_bytes(p.get("memory"), &v) || v <= 0) {
      return make_error("--memory: expected a size such as 512m or 1g, got " +
                        nsbox::quoted(p.get("memory")));
    }
    o->memory = v;
  }
  if (p.has("pids-limit")) {
    long long v = 0;
    if (!parse_int64(p.get("pids-limit"), &v) || v <= 0) {
      return make_error("--pids-limit: expected a positive number, got " +
                        nsbox::quoted(p.get("pids-limit")));
    }
    o->pids_limit = v;
  }
  if (p.has("cpus")) {
    std::string text = p.get("cpus");
    char* end = nullptr;
    double v = text.empty() ? 0 : std::strtod(text.c_str(), &end);
    // The kernel's smallest CFS quota is 1 ms of a 100 ms period.
    if (end == nullptr || *end != '\0' || !std::isfinite(v) || v < 0.01 || v > 1e6) {
      return make_error("--cpus: expected a number of CPUs of at least 0.01 such as 1.5, got " +
                        nsbox::quoted(text));
    }
    o->cpus = v;
  }
  return {};
}

Status parse_namespaces(const Parsed& p, container::SandboxOptions* o) {
  if (p.has("ns")) {
    auto list = parse_ns_list("--ns", p.get("ns"));
    if (!list) return std::move(list).error();
    o->create = std::set<spec::NsType>(list->begin(), list->end());
  }
  if (p.has("share")) {
    auto list = parse_ns_list("--share", p.get("share"));
    if (!list) return std::move(list).error();
    for (auto t : *list) {
      if (p.has("ns") && o->create.count(t) != 0) {
        return make_error(std::string("--share ") + spec::ns_proc_name(t) +
                          ": also listed in --ns");
      }
      o->create.erase(t);
    }
  }
  for (const auto& j : p.all("join")) {
    size_t eq = j.find('=');
    auto t = eq == std::string::npos ? std::nullopt : parse_ns_name(j.substr(0, eq));
    if (!t || eq + 1 == j.size()) {
      return make_error("--join " + j + ": expected TYPE=ID or TYPE=/proc/PID/ns/TYPE");
    }
    if (o->join.count(*t) != 0) return make_error("--join " + j + ": namespace joined twice");
    if (p.has("ns") && o->create.count(*t) != 0) {
      return make_error("--join " + j + ": also listed in --ns");
    }
    o->create.erase(*t);  // a default namespace is joined instead
    o->join[*t] = j.substr(eq + 1);
  }
  return {};
}

Result<container::SandboxOptions> sandbox_options(const Parsed& p) {
  container::SandboxOptions o;
  o.args = p.positionals;
  NSBOX_TRY(parse_namespaces(p, &o));
  o.rootfs = p.get("rootfs");
  for (const auto& b : p.all("bind")) {
    auto bind = parse_bind(b);
    if (!bind) return std::move(bind).error();
    o.binds.push_back(std::move(*bind));
  }
  o.tmpfs = p.all("tmpfs");
  if (p.has("hostname")) o.hostname = p.get("hostname");
  if (p.has("user")) NSBOX_TRY(parse_user(p.get("user"), &o));
  o.env = p.all("env");
  o.cwd = p.get("cwd", "/");
  NSBOX_TRY(parse_resources(p, &o));
  for (const auto& s : p.all("sysctl")) {
    size_t eq = s.find('=');
    if (eq == std::string::npos || eq == 0) {
      return make_error("--sysctl " + s + ": expected KEY=VALUE");
    }
    o.sysctls.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  auto tty = flag_bool(p, "tty");
  if (!tty) return std::move(tty).error();
  o.terminal = *tty;
  if (p.has("name")) {
    o.id = p.get("name");
    NSBOX_TRY_CTX(container::validate_id(o.id), "--name");
  } else {
    o.id = container::sandbox_id();
  }
  o.reexec_if_writable = true;
  return o;
}

int run_sandbox(const Global& g, const Parsed& p) {
  auto opt = sandbox_options(p);
  if (!opt) return fail(opt.error());
  auto print = flag_bool(p, "print-config");
  if (!print) return fail(print.error());
  if (*print) {
    auto text = container::sandbox_config(g.rt, *opt);
    if (!text) return fail(text.error());
    std::printf("%s\n", text->c_str());
    return 0;
  }
  auto status = container::sandbox(g.rt, *opt);
  if (!status) return fail(status.error());
  return *status;
}

}  // namespace

Command sandbox_command() {
  return {"sandbox",
          "sandbox [OPTIONS] [--] COMMAND [ARGS...]",
          "Run a command in a throwaway container without a bundle; exits with its status\n"
          "\n"
          "Default: the host's root filesystem, read-only all the way down, as the rootfs\n"
          "(mount targets must exist in it), a fresh /proc, a minimal /dev, /sys, a private\n"
          "/tmp, new mnt,uts,ipc,pid,net,cgroup namespaces, docker's default capabilities.\n"
          "Namespaces: mnt (mount), uts, ipc, pid, net (network), user, cgroup, time.\n"
          "A new user namespace maps IDs 0-65535 to root's range in /etc/subuid and\n"
          "/etc/subgid (else 100000-165535): root in the sandbox is nobody on the host.\n"
          "The container is deleted when the command exits; --name makes it addressable\n"
          "by the other verbs (and by --join of another sandbox) while it runs.",
          {
              {"ns", "", true, "the namespaces to create, comma-separated (replaces the default)"},
              {"share", "", true, "namespaces to keep the host's (removed from the default)"},
              {"join", "", true, "TYPE=ID|PATH: join a running container's namespace (repeatable)"},
              {"rootfs", "", true, "a directory as the rootfs (read-only) instead of the host's /"},
              {"bind", "", true, "SRC:DST[:ro]: bind mount a host path (repeatable)"},
              {"tmpfs", "", true, "DST: mount a private tmpfs (repeatable)"},
              {"hostname", "", true, "hostname (default: the container ID)"},
              {"user", "u", true, "UID[:GID] to run the command as"},
              {"env", "e", true, "KEY=VALUE, or KEY to pass ours (repeatable)"},
              {"cwd", "w", true, "working directory (default /)"},
              {"memory", "m", true, "memory limit (512m, 1g, ...)"},
              {"pids-limit", "", true, "maximum number of processes"},
              {"cpus", "", true, "CPU limit in CPUs (1.5 = 150 ms per 100 ms)"},
              {"sysctl", "", true, "KEY=VALUE of a namespaced sysctl (repeatable)"},
              {"name", "", true, "container ID (default: sandbox-<random>)"},
              {"tty", "t", false, "allocate a terminal"},
              {"print-config", "", false, "print the generated config.json and exit"},
          },
          run_sandbox,
          0,
          SIZE_MAX,
          1};
}

}  // namespace nsbox::cli
