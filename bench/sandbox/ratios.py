#!/usr/bin/env python3
"""The sandbox rows of the hot path, each as a ratio to its peers in one run.

Every side runs `bash -c true` (what `hermes-exec -c true` runs inside its
sandbox), one after the other in a rotating order, so that drift in the
machine's load hits all sides alike; the figures are medians:

  session exec   hermes-exec --backend sandbox, a command in a running session
                 container (container.persist: session)
  fresh          hermes-exec --backend sandbox, a fresh container per command
                 (container.persist: none)
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
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time

GOALS = [  # row, side, peer, limit
    ("session exec / bwrap", "session", "bwrap", 1.0),
    ("fresh / bwrap", "fresh", "bwrap", 3.0),
    ("fresh / runc run", "fresh", "runc run", 0.3),
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
            for persist, name in (("session", "session"), ("none", "fresh")):
                home = os.path.join(work, f"home-{name}{tag.strip(' ()')}")
                os.mkdir(home)
                with open(os.path.join(home, "config.yaml"), "w") as f:
                    f.write(f'approvals:\n  mode: "off"\nterminal:\n  backend: sandbox\n'
                            f"container:\n  workspace: {ws}\n  persist: {persist}\n  memory: 1g\n")
                env = {"PATH": os.environ["PATH"], "HERMES_HOME": home, "HERMES_SESSION_ID": "bench", "LANG": "C"}
                sides[name + tag] = ([os.path.join(bindir, "hermes-exec"), "-c", "true"], env)
                if persist == "session":
                    cleanup.append(([os.path.join(bindir, "hermes-exec"), "sandbox", "rm", "--all"], env))
        sides["bwrap"] = (["bwrap", "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                           "--bind", ws, ws, "--chdir", ws, "--unshare-all", "--cap-drop", "ALL",
                           "--die-with-parent", "bash", "-c", "true"], None)
        runc_run, runc_exec, runc_cleanup = runc_sides(work)
        cleanup.extend(runc_cleanup)
        sides["runc run"] = (runc_run, None)
        sides["runc exec"] = (runc_exec, None)

        for name, (argv, env) in sides.items():  # make the session containers, warm the caches
            for _ in range(3):
                once(name, argv, env, ws)
        times = {k: [] for k in sides}
        names = list(sides)
        for i in range(a.n):
            k = i % len(names)
            for name in names[k:] + names[:k]:
                argv, env = sides[name]
                times[name].append(once(name, argv, env, ws))
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"{'side':24s} {'median ms':>10s} {'p10 ms':>8s} {'p90 ms':>8s}")
        for k, v in times.items():
            q = statistics.quantiles(v, n=10)
            print(f"{k:24s} {med[k]:10.2f} {q[0]:8.2f} {q[-1]:8.2f}")
        print()
        print(f"{'row':26s} {'ratio':>7s} {'before':>7s}  goal")
        for row, side, peer, limit in GOALS:
            r = med[side] / med[peer]
            b = f"{med[side + ' (before)'] / med[peer]:.2f}" if a.before else "-"
            goal = f"<= {limit:.1f}x" if limit else "(for scale)"
            mark = "" if limit is None else ("ok" if r <= limit else "MISSED")
            print(f"{row:26s} {r:7.2f} {b:>7s}  {goal} {mark}")
        print(f"\n{a.n} runs of each side, rotating; load average {os.getloadavg()[0]:.1f}")
    finally:
        for argv, env in cleanup:
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["umount", os.path.join(work, "bundle", "rootfs")], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def once(name, argv, env, cwd):
    t = time.perf_counter()
    r = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    d = (time.perf_counter() - t) * 1e3
    if r.returncode != 0:
        sys.exit(f"{name}: exit {r.returncode}: {r.stderr.decode(errors='replace')[-400:]}")
    return d


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
