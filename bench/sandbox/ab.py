#!/usr/bin/env python3
"""Before/after cost of the sandbox, measured alternately.

hyperfine times all runs of one command before the next, so on a shared
machine a change of load between them reads as a difference between builds.
This runs two builds' `hermes-exec -c true` in turns (A B, B A, ...) and
prints the medians and their ratio, for a command in a running session
container and for a fresh container.

Usage (as root): bench/sandbox/ab.py BEFORE_BINDIR AFTER_BINDIR [RUNS]
where each BINDIR holds hermes-exec and hermes-exec-sandbox
(make build BINDIR=...).
"""
import os, shutil, statistics, subprocess, sys, tempfile, time

def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    dirs = {"before": sys.argv[1], "after": sys.argv[2]}
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    work = tempfile.mkdtemp(prefix="hermes-sbx-ab.", dir="/var/tmp")
    ws = os.path.join(work, "ws")
    os.mkdir(ws)
    homes = {}
    try:
        for k in dirs:
            for persist in ("session", "none"):
                h = os.path.join(work, f"{k}-{persist}")
                os.mkdir(h)
                with open(os.path.join(h, "config.yaml"), "w") as f:
                    f.write(f'approvals:\n  mode: "off"\nterminal:\n  backend: sandbox\n'
                            f"container:\n  workspace: {ws}\n  persist: {persist}\n  memory: 1g\n")
                homes[k, persist] = h
        def cmd(k, persist):
            env = {"PATH": os.environ["PATH"], "HERMES_HOME": homes[k, persist],
                   "HERMES_SESSION_ID": "ab", "LANG": "C"}
            return [os.path.join(dirs[k], "hermes-exec"), "-c", "true"], env
        def once(k, persist):
            argv, env = cmd(k, persist)
            t = time.perf_counter()
            subprocess.run(argv, env=env, cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            return (time.perf_counter() - t) * 1e3
        for k in dirs:
            once(k, "session")  # make the session containers
        for persist, n in (("session", runs), ("none", max(20, runs // 5))):
            got = {"before": [], "after": []}
            for i in range(n):
                for k in (("before", "after") if i % 2 == 0 else ("after", "before")):
                    got[k].append(once(k, persist))
            b, a = statistics.median(got["before"]), statistics.median(got["after"])
            name = "session exec" if persist == "session" else "fresh container"
            print(f"{name}: before {b:.2f} ms, after {a:.2f} ms, after/before {a / b:.3f} ({n} runs each)")
    finally:
        for k in dirs:
            argv, env = cmd(k, "session")
            subprocess.run([argv[0], "sandbox", "rm", "--all"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)

main()
