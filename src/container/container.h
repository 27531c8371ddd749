// The OCI lifecycle on top of the modules: create, start, state, kill,
// delete, list, run. The CLI is a thin layer over these.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "cgroup/stats.h"
#include "common/fd.h"
#include "common/result.h"
#include "container/store.h"
#include "spec/config.h"
#include "spec/state.h"

namespace nsbox::container {

struct Runtime {
  std::string root = "/run/nsbox";
};

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  // The config as JSON text instead of the bundle's config.json (`nsbox
  // sandbox`); relative paths still resolve against the bundle.
  std::string config_text;
  std::string pid_file;
  bool no_pivot = false;
  // Signal mask the container process starts with (run blocks signals in
  // the runtime to forward them); nullptr: the caller's current mask.
  const sigset_t* sigmask = nullptr;
  // process.terminal: the pty master goes to this unix socket (runc's
  // protocol), or, when console_out is set (`run` in the foreground), there.
  // A terminal with neither is an error before anything is created.
  std::string console_socket;
  UniqueFd* console_out = nullptr;
  // fds 3 .. 3+N-1 reach the container's process (--preserve-fds plus the
  // LISTEN_FDS of socket activation), with these added to process.env
  // (LISTEN_FDS=N, LISTEN_PID=1).
  int preserve_fds = 0;
  std::vector<std::string> extra_env;
  // --no-new-keyring: the container keeps the caller's session keyring.
  bool no_new_keyring = false;
  // CVE-2019-5736 (process/sealed_exe.h): when this binary is writable,
  // true re-executes the calling process from a read-only image of it before
  // anything is done, so that no nsbox code in the container's PID namespace
  // (the init waiting for `start`) runs the host's binary. false: create
  // goes on, but fails when the init would share its PID namespace (joined,
  // or the host's) with other processes before `start`.
  bool reexec_if_writable = false;
};

// What `state` reports: the OCI state plus runc's rootfs and created.
using State = spec::State;

Result<pid_t> create(const Runtime& rt, const CreateOptions& opt);
Status start(const Runtime& rt, const std::string& id);
Result<State> state(const Runtime& rt, const std::string& id);
Status kill(const Runtime& rt, const std::string& id, int sig, bool all);
Status remove(const Runtime& rt, const std::string& id, bool force);  // `delete`
// `pause` (paused = true) freezes a running container; `resume` thaws a
// paused one. `state` then reports "paused".
Status set_paused(const Runtime& rt, const std::string& id, bool paused);
Result<std::vector<State>> list(const Runtime& rt);

// `exec` (exec.cpp): a new process in a created or running container.
struct ExecOptions {
  std::string id;
  // --process: a whole process object (JSON text); the fields below that
  // describe the process are then ignored.
  std::string process_json;
  // Otherwise the container's process.* with these (runc's flags):
  std::vector<std::string> args;
  std::vector<std::string> env;  // appended
  std::optional<std::string> cwd;
  std::optional<uint32_t> uid, gid;
  std::vector<uint32_t> additional_gids;  // appended
  std::vector<std::string> caps;          // added to bounding/effective/permitted
  std::optional<bool> tty;
  std::optional<bool> no_new_privs;
  std::optional<std::string> apparmor, process_label;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;  // process.terminal: the pty master goes there
  int preserve_fds = 0;        // fds 3 .. 3+N-1 reach the process
  bool ignore_paused = false;
  std::string cgroup;  // --cgroup (sub-cgroup): not supported yet
  // As CreateOptions::reexec_if_writable: the exec child runs nsbox code in
  // the container's PID namespace before its execve.
  bool reexec_if_writable = false;
  // `enter`: join only these of the container's namespaces (unset: every
  // one it has; each listed one must be in its config). The mount namespace
  // of a container with a user namespace brings the user namespace along.
  // The process always joins the container's cgroups. Without the mount
  // namespace the process is the caller's, not the container's: args and
  // env as given, cwd as given or ours, our uid/gid/groups and capabilities,
  // no rlimits, LSM labels, personality or seccomp.
  std::optional<std::vector<spec::NsType>> join_ns;
};
// Not detached: waits, forwarding signals (and proxying the terminal when
// there is no console socket), and returns the shell status. Detached: 0
// once the process runs.
Result<int> exec(const Runtime& rt, const ExecOptions& opt);

// Resource verbs (resources.cpp).
// `update`: apply resources (only the fields set) to a created, running or
// paused container, and merge resources_json (a linux.resources object)
// into the stored config.json so later reads see the new limits.
Status update(const Runtime& rt, const std::string& id, const spec::Resources& resources,
              const std::string& resources_json);
// `ps`: the pids in the container's cgroup (host PID namespace), sorted.
Result<std::vector<pid_t>> pids(const Runtime& rt, const std::string& id);
// `stats` / `events --stats`: usage, limits and failure counts.
Result<cgroup::Stats> stats(const Runtime& rt, const std::string& id);
// `events`: OOM notifications of a running container, plus its init's
// pidfd so that the caller notices when it stops.
struct EventSource {
  cgroup::OomWatch oom;
  UniqueFd init_pidfd;
};
Result<EventSource> watch_events(const Runtime& rt, const std::string& id);
// create + start + wait + delete. Returns the exit status for the shell
// (128+signal when killed). With detach: create + start, returns 0.
Result<int> run(const Runtime& rt, const CreateOptions& opt, bool detach);

// Namespace views (inspect.cpp) of a created, running or paused container.
// `ipcs`: the IPC objects of the init's IPC namespace, read by a forked
// child that joins it (/proc/sysvipc/*, the IPC sysctls, a fresh mqueue
// mount).
struct IpcObject {
  std::string kind;  // "msg", "shm" or "sem"
  long long key = 0;
  long long id = 0;
  unsigned long long uid = 0;
  unsigned perms = 0;                                    // mode bits (octal in /proc)
  unsigned long long bytes = 0, messages = 0;            // msg
  unsigned long long size = 0, attached = 0, nsems = 0;  // shm, sem
};
struct PosixMq {
  std::string name;  // "/name"
  unsigned long long uid = 0;
  unsigned perms = 0;
  std::string info;  // the mqueue file: "QSIZE:5 NOTIFY:0 ..."
  unsigned long long qsize = 0;
};
struct IpcView {
  std::vector<IpcObject> objects;
  std::vector<PosixMq> mqueues;
  // The namespace's msg_ids / msg_hdrs / msg_bytes.
  unsigned long long msg_queues = 0, msg_messages = 0, msg_bytes = 0;
  std::vector<std::pair<std::string, std::string>> limits;  // "kernel.msgmax", "8192"
};
Result<IpcView> ipc_view(const Runtime& rt, const std::string& id);
// `ns`: each namespace of the init with its inode and who shares it: the
// runtime's own ("host") and the other containers of rt.root.
struct NsShare {
  std::string type;  // /proc/PID/ns name: mnt, uts, ipc, pid, net, user, cgroup, time
  unsigned long long inode = 0;
  bool host = false;
  std::vector<std::string> containers;  // other IDs whose init has it
};
Result<std::vector<NsShare>> namespaces(const Runtime& rt, const std::string& id);
// "/proc/PID/ns/NAME" of a live container's init, for joining (sandbox
// --join TYPE=ID); an error when it has no such namespace of its own kind
// (the kernel lacks it).
Result<std::string> namespace_path(const Runtime& rt, const std::string& id, spec::NsType type);

}  // namespace nsbox::container
