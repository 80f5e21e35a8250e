"""Deploying the six functions to the sandbox: amops beside a plain `aws` CLI shell loop, in one run.

Both change all six handlers and ship them: upload, update-function-code, wait, publish-version,
update-alias. amops does more on top (checklist, health checks, smoke tests). The figure is the
CPU time each spends of its own — user + system time of the process and its children, i.e.
everything but waiting on the server — and, beside it, the wall time.

Usage: python benchmarks/deploy.py    (needs the dev extra — amops[sandbox], awscli — and zip)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _measure import measured

from amops.sandbox.control import Sandbox

FUNCTIONS = ("authorizer", "teams", "permissions", "invitations", "audit-writer", "health")
BIN = Path(sys.executable).parent

SHELL_LOOP = r"""
set -euo pipefail
cd "$WORKSPACE/functions"
for f in authorizer teams permissions invitations audit-writer health; do
  zip_file="$TMP/$f.zip"
  (cd "$f" && zip -q -r -X "$zip_file" .)
  sha=$(sha256sum "$zip_file" | cut -d' ' -f1)
  aws s3 cp --quiet "$zip_file" "s3://am-dev-artifacts-100000000001/lambdas/$f/$sha.zip"
  aws lambda update-function-code --function-name "am-dev-$f" --s3-bucket am-dev-artifacts-100000000001 \
      --s3-key "lambdas/$f/$sha.zip" > /dev/null
  aws lambda wait function-updated-v2 --function-name "am-dev-$f"
  version=$(aws lambda publish-version --function-name "am-dev-$f" --description "sha256=$sha" \
      --query Version --output text)
  aws lambda update-alias --function-name "am-dev-$f" --name live --function-version "$version" > /dev/null
done
"""


def change_every_handler(workspace: Path, mark: str) -> None:
    for function in FUNCTIONS:
        handler = workspace / "functions" / function / "handler.py"
        handler.write_text(handler.read_text() + f"\n# build {mark}\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]
    subprocess.run([*git, "commit", "-qam", f"build {mark}"], cwd=workspace, check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        sandbox = Sandbox(Path(scratch) / "workspace")
        sandbox.up(events=400)
        try:
            workspace = sandbox.workspace.path
            env = {
                **os.environ,
                "PATH": f"{BIN}:{os.environ['PATH']}",
                "AMOPS_SANDBOX": "1",
                "AMOPS_SANDBOX_WORKSPACE": str(workspace),
                "AMOPS_YES": "1",
                "TMP": scratch,
                "WORKSPACE": str(workspace),
                "AMOPS_STATE_DIR": str(Path(scratch) / "state"),
            }
            change_every_handler(workspace, "1")
            amops = measured([str(BIN / "amops"), "deploy", "dev", "--only", "lambdas"], env, workspace)
            aws_env = {**env}
            for line in sandbox.env_lines("dev"):
                if line.startswith("export "):
                    key, _, value = line[len("export ") :].partition("=")
                    aws_env[key] = value
            change_every_handler(workspace, "2")
            shell = measured(["bash", "-c", SHELL_LOOP], aws_env, workspace)
        finally:
            sandbox.down()
    print("deploying six changed functions to the sandbox (dev)")
    print(f"  {'':34} {'CPU (own)':>10} {'wall':>8}")
    print(
        f"  {'amops deploy dev --only lambdas':34} {amops.cpu:9.2f}s {amops.wall:7.2f}s   (+ checklist, health, smoke)"
    )
    print(f"  {'aws CLI shell loop':34} {shell.cpu:9.2f}s {shell.wall:7.2f}s")
    ratio = amops.cpu / shell.cpu
    print(f"amops / shell loop (CPU) = {ratio:.2f} ({'meets' if ratio < 1 else 'misses'} the goal: below 1)")


if __name__ == "__main__":
    main()
