#!/usr/bin/env python3
"""The sandbox rows of the hot path, each as a ratio to its peers in one run.

Every side runs `bash -c true` (what `hermes-exec -c true` runs inside its
sandbox), one after the other in a rotating order, so that drift in the
machine's load hits all sides alike; the figures are medians:

  session exec   hermes-exec --backend sandbox, a command in a running session
                 container (container.persist: session)
  fresh          hermes-exec --backend sandbox, a fresh container per command
                 (container.persist: none), taking the spare container made
                 in the background after the previous command: the bench
                 waits for that making to end after each run (so it never
                 competes with the next side) and prints its CPU apart
  fresh (cold)   the same with container.spare: off: the container is made
                 when the command comes, as without spares
  bwrap          bubblewrap with a comparable view: the host's / read-only,
                 the workspace writable, private /proc /dev /tmp, every
                 namespace unshared, no capabilities (no cgroup, no seccomp
                 profile of its own)
  runc run       runc run of an equivalent bundle (read-only host root, new
                 namespaces with a user namespace, no capabilities, runc's
                 default seccomp-less spec plus memory and pids limits),
                 fresh each time
  runc exec      runc exec into a running container of that bundle

Goals (issue 16): session exec <= 1.0x bwrap; fresh <= 3.0x bwrap and
<= 0.3x runc run.

With --before DIR (another build's hermes-exec and hermes-exec-sandbox), that
build's session and fresh sides join the same rotation and their ratios are
printed as "before".

Usage (as root): bench/sandbox/ratios.py BINDIR [--before DIR] [-n RUNS]
"""
import argparse, json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

GOALS = [  # row, side, peer, limit
    ("session exec / bwrap", "session", "bwrap", 1.0),
    ("fresh / bwrap", "fresh", "bwrap", 3.0),
    ("fresh / runc run", "fresh", "runc run", 0.3),
    ("fresh (cold) / bwrap", "fresh (cold)", "bwrap", None),
    ("fresh (cold) / runc run", "fresh (cold)", "runc run", None),
    ("session exec / runc exec", "session", "runc exec", None),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bindir")
    ap.add_argument("--before", default="")
    ap.add_argument("-n", type=int, default=100, help="runs of each side")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="hermes-sbx-ratios.", dir="/var/tmp")
    ws = os.path.join(work, "ws")
    os.mkdir(ws)
    builds = {"": os.path.abspath(a.bindir)}
    if a.before:
        builds[" (before)"] = os.path.abspath(a.before)
    cleanup = []
    try:
        sides = {}
        for tag, bindir in builds.items():
            kinds = [("session", "session", ""), ("none", "fresh", "")]
            if not tag:
                kinds.append(("none", "fresh (cold)", "  spare: off\n"))
            for persist, name, extra in kinds:
                home = os.path.join(work, f"home-{name}{tag}".replace(" ", "").replace("(", "-").replace(")", ""))
                os.mkdir(home)
                with open(os.path.join(home, "config.yaml"), "w") as f:
                    f.write(f'approvals:\n  mode: "off"\nterminal:\n  backend: sandbox\n'
                            f"container:\n  workspace: {ws}\n  persist: {persist}\n  memory: 1g\n{extra}")
                env = {"PATH": os.environ["PATH"], "HERMES_HOME": home, "HERMES_SESSION_ID": "bench", "LANG": "C"}
                if name == "fresh" and not tag:
                    env["HERMES_PHASES"] = "1"  # says why a run did not take the spare
                sides[name + tag] = ([os.path.join(bindir, "hermes-exec"), "-c", "true"], env)
                cleanup.append(([os.path.join(bindir, "hermes-exec"), "sandbox", "rm", "--all"], env))
        sides["bwrap"] = (["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                           "--bind", ws, ws, "--chdir", ws, "--unshare-all", "--cap-drop", "ALL",
                           "--die-with-parent", "bash", "-c", "true"], None)
        runc_run, runc_exec, runc_cleanup = runc_sides(work)
        cleanup.extend(runc_cleanup)
        sides["runc run"] = (runc_run, None)
        sides["runc exec"] = (runc_exec, None)

        maker = os.path.join(builds[""], "hermes-exec-sandbox")
        for name, (argv, env) in sides.items():  # make the session containers and spares, warm the caches
            for _ in range(3):
                once(name, argv, env, ws)
                spare_making(maker)
        times = {k: [] for k in sides}
        cpus = {k: [] for k in sides}
        making = []
        taken = 0
        reasons = {"stale": 0, "changed": 0}
        names = list(sides)
        for i in range(a.n):
            k = i % len(names)
            for name in names[k:] + names[:k]:
                argv, env = sides[name]
                wall, cpu, err = once(name, argv, env, ws, with_cpu=True)
                times[name].append(wall)
                cpus[name].append(cpu)
                if name == "fresh":
                    for why in ("stale", "changed"):
                        reasons[why] += f"phase sandbox-spare-{why} " in err
                    taken += "phase sandbox-spare-key " in err and "phase sandbox-main " not in err
                    making.append(spare_making(maker))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{'side':24s} {'median ms':>10s} {'p10 ms':>8s} {'p90 ms':>8s} {'cpu ms':>8s}")
        for k, v in times.items():
            q = statistics.quantiles(v, n=10)
            print(f"{k:24s} {med[k]:10.2f} {q[0]:8.2f} {q[-1]:8.2f} {statistics.median(cpus[k]):8.2f}")
        done = [m for m in making if m]
        if done:
            w = statistics.median(m[0] for m in done)
            c = statistics.median(m[1] for m in done)
            print(f"{'  spare making (bg)':24s} {w:10.2f} {'':8s} {'':8s} {c:8.2f}"
                  f"   after each fresh run, off its path; {len(done)} of {len(making)} seen")
        print("(cpu: user+system of the side's process tree as reaped; the spare's making runs detached"
              " and is measured apart: the maker's CPU and the spare reaper's own until ready)")
        print(f"fresh runs that took a spare: {taken} of {a.n}"
              f" (not taken: {reasons['stale']} of another key, {reasons['changed']} changed since made,"
              f" {a.n - taken - reasons['stale'] - reasons['changed']} none ready)")
        print()
        cmed = {k: statistics.median(v) for k, v in cpus.items()}
        print(f"{'row':26s} {'ratio':>7s} {'before':>7s} {'cpu':>7s} {'before':>7s}  goal (on the wall-time ratio)")
        for row, side, peer, limit in GOALS:
            r = med[side] / med[peer]
            old = side + " (before)"
            b = f"{med[old] / med[peer]:.2f}" if old in med else "-"
            c = cmed[side] / cmed[peer]
            cb = f"{cmed[old] / cmed[peer]:.2f}" if old in cmed else "-"
            goal = f"<= {limit:.1f}x" if limit else "(for scale)"
            mark = "" if limit is None else ("ok" if r <= limit else "MISSED")
            print(f"{row:26s} {r:7.2f} {b:>7s} {c:7.2f} {cb:>7s}  {goal} {mark}")
        print(f"\n{a.n} runs of each side, rotating; load average {os.getloadavg()[0]:.1f}")
    finally:
        spare_making(os.path.join(builds[""], "hermes-exec-sandbox"))
        for argv, env in cleanup:
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["umount", os.path.join(work, "bundle", "rootfs")], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def once(name, argv, env, cwd, with_cpu=False):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    d = (time.perf_counter() - t) * 1e3
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        sys.exit(f"{name}: exit {r.returncode}: {r.stderr.decode(errors='replace')[-400:]}")
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1e3
    return (d, cpu, r.stderr.decode(errors="replace")) if with_cpu else d


TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime+stime+cutime+cstime of pid in ms, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(x) for x in fields[11:15]) * 1e3 / TICK


def spare_making(maker):
    """Waits for the background `hermes-exec-sandbox spare` runs of maker to
    end; returns (wall ms, cpu ms) of the one seen, or None. Its CPU is
    sampled until it exits (so up to a sample late) plus the CPU the spare's
    reaper, which libcontainer set up as the container's init, spent until
    then."""
    want = (maker + "\0spare\0").encode()
    t = time.perf_counter()
    seen, cpu, wall = None, 0.0, None
    while time.perf_counter() - t < 60:
        pids = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    with open(f"/proc/{p}/cmdline", "rb") as f:
                        if f.read() == want:
                            pids.append(int(p))
                except OSError:
                    pass
        if not pids:
            break
        seen = pids[0]
        c = proc_cpu(seen)
        if c is not None:
            cpu = c
        time.sleep(0.001)
    if seen is None:
        return None
    wall = (time.perf_counter() - t) * 1e3
    return wall, cpu + newest_spare_reaper_cpu()


def newest_spare_reaper_cpu():
    """CPU (ms) of the reaper of the newest ready spare in root's state directory."""
    state = "/run/hermes-exec/sandbox"
    best, cpu = 0, 0.0
    try:
        names = os.listdir(state)
    except OSError:
        return 0.0
    for n in names:
        if not n.startswith("spare-") or "." in n:
            continue
        try:
            with open(os.path.join(state, n)) as f:
                cid = json.load(f)["ID"]
            st = os.stat(os.path.join(state, n))
            with open(os.path.join(state, cid, "state.json")) as f:
                pid = json.load(f)["init_process_pid"]
        except (OSError, KeyError, ValueError):
            continue
        if st.st_mtime > best:
            c = proc_cpu(pid)
            if c is not None:
                best, cpu = st.st_mtime, c
    return cpu


def runc_sides(work):
    """A runc bundle whose rootfs is the host's / (bind-mounted, read-only)."""
    bundle = os.path.join(work, "bundle")
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(rootfs)
    if subprocess.run(["runc", "spec", "--rootless"], cwd=bundle, stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["runc", "spec"], cwd=bundle, check=True)
    p = os.path.join(bundle, "config.json")
    with open(p) as f:
        c = json.load(f)
    c["process"]["terminal"] = False
    c["process"]["args"] = ["bash", "-c", "true"]
    c["process"]["env"] = ["PATH=/usr/local/bin:/usr/bin:/bin"]
    c["root"] = {"path": "rootfs", "readonly": True}
    c["mounts"] = [m for m in c["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    c["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["nosuid", "nodev", "size=512m"]})
    c["linux"].setdefault("resources", {})["memory"] = {"limit": 1 << 30}
    c["linux"]["resources"]["pids"] = {"limit": 1024}
    with open(p, "w") as f:
        json.dump(c, f)
    subprocess.run(["mount", "--bind", "/", rootfs], check=True)
    state = os.path.join(work, "runc-state")
    run = ["runc", "--root", state, "run", "--bundle", bundle, "hermes-bench-run"]
    # A long-running container of the same bundle for runc exec.
    c["process"]["args"] = ["sleep", "infinity"]
    c["root"]["path"] = rootfs  # runc takes no symlink for it
    long_bundle = os.path.join(work, "bundle-long")
    os.makedirs(long_bundle)
    with open(os.path.join(long_bundle, "config.json"), "w") as f:
        json.dump(c, f)
    subprocess.run(["runc", "--root", state, "run", "-d", "--bundle", long_bundle, "hermes-bench-long"],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    exec_ = ["runc", "--root", state, "exec", "hermes-bench-long", "bash", "-c", "true"]
    cleanup = [(["runc", "--root", state, "delete", "--force", "hermes-bench-long"], None)]
    return run, exec_, cleanup


main()
