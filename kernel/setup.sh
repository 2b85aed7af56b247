#!/usr/bin/env bash
# setup.sh installs what anogo's notebooks need and registers the Go (gonb)
# Jupyter kernel. It is idempotent: every step checks first and does nothing
# when its result is already there, so a second run takes a few seconds.
#
# Usage (as root on Debian, or as a user with sudo for the apt step):
#
#	kernel/setup.sh
#
# Steps:
#  1. Debian packages ($APT_PACKAGES); `apt-get update` only when one is missing.
#  2. Go tools at pinned versions, built through the module proxy into
#     $ANOGO_BIN (default <repo>/.cache/bin, ignored by git): gonb, goimports
#     and, optionally, gopls (a failure there is only a warning).
#  3. `gonb --install`, then kernel.json gets an "env" entry that puts
#     $ANOGO_BIN and the Go toolchain first on the kernel's PATH, so that the
#     kernel finds go, goimports and gopls even when Jupyter is started from
#     a shell whose PATH lacks them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ANOGO_BIN:-$ROOT/.cache/bin}"

APT_PACKAGES="jupyter-notebook jupyter-nbconvert jupyter-client python3-nbclient libopenblas-dev python3-torch dataset-fashion-mnist"

GONB_MOD=github.com/janpfeifer/gonb
GONB_VERSION=v0.11.4
TOOLS_MOD=golang.org/x/tools
TOOLS_VERSION=v0.39.0
GOPLS_MOD=golang.org/x/tools/gopls
GOPLS_VERSION=v0.21.0

PY=/usr/bin/python3
JUPYTER=/usr/bin/jupyter

say() { echo "setup: $*"; }
die() {
	echo "setup: error: $*" >&2
	exit 1
}

# 1. Debian packages.
missing=()
for p in $APT_PACKAGES; do
	# (no "| grep -q" under pipefail: grep's early exit would fail the pipe)
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	if [[ "$status" != *"install ok installed"* ]]; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} > 0)); then
	sudo=()
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || die "apt packages missing (${missing[*]}) and not root: run as root"
		sudo=(sudo)
	fi
	say "apt: installing ${missing[*]}"
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
else
	say "apt: all present ($APT_PACKAGES)"
fi

# 2. Go tools.
GO="$(command -v go || true)"
if [ -z "$GO" ] && [ -x /usr/local/go/bin/go ]; then
	GO=/usr/local/go/bin/go
fi
[ -n "$GO" ] || die "go not found on PATH nor in /usr/local/go/bin: install Go 1.26 first"
GOBINDIR="$(dirname "$(readlink -f "$GO")")"
mkdir -p "$BIN"

# has_version BINARY MODULE VERSION succeeds when BINARY was built from MODULE@VERSION.
has_version() {
	[ -x "$1" ] && "$GO" version -m "$1" 2>/dev/null |
		awk -v m="$2" -v v="$3" '($1 == "mod" || $1 == "dep") && $2 == m && $3 == v { ok = 1 } END { exit !ok }'
}

# install_tool NAME MODULE VERSION PACKAGE builds PACKAGE@VERSION into $BIN/NAME
# unless it is there already.
install_tool() {
	local name=$1 mod=$2 version=$3 pkg=$4
	if has_version "$BIN/$name" "$mod" "$version"; then
		say "go: $name $version present in $BIN"
		return 0
	fi
	say "go: installing $pkg@$version into $BIN"
	# `go install pkg@version` looks up the module's latest version to warn
	# about deprecation, and the proxy refuses version lists for some modules
	# (gonb among them). So download the pinned version first and put the
	# module cache, whose list then holds that version, in front of the proxy.
	# Run outside the repository so that its go.mod plays no part.
	(
		cd /
		"$GO" mod download "$mod@$version"
		GOPROXY="file://$("$GO" env GOMODCACHE)/cache/download,$("$GO" env GOPROXY)" \
			GOBIN="$BIN" GOFLAGS=-buildvcs=false "$GO" install "$pkg@$version"
	)
}

install_tool gonb "$GONB_MOD" "$GONB_VERSION" "$GONB_MOD"
install_tool goimports "$TOOLS_MOD" "$TOOLS_VERSION" "$TOOLS_MOD/cmd/goimports"
have_gopls=1
if ! install_tool gopls "$GOPLS_MOD" "$GOPLS_VERSION" "$GOPLS_MOD"; then
	say "warning: could not build gopls $GOPLS_VERSION; the kernel runs without auto-complete and hover help"
	have_gopls=0
fi

# 3. The kernel.
DATA_DIR="${JUPYTER_DATA_DIR:-$HOME/.local/share/jupyter}"
SPEC="$DATA_DIR/kernels/gonb/kernel.json"
KERNEL_PATH="$BIN:$GOBINDIR"

# spec_ok succeeds when kernel.json runs $BIN/gonb with $KERNEL_PATH first on PATH.
spec_ok() {
	[ -f "$SPEC" ] && "$PY" - "$SPEC" "$BIN/gonb" "$KERNEL_PATH" <<'EOF'
import json, os, sys
spec, gonb, path = sys.argv[1:]
with open(spec) as f:
    k = json.load(f)
argv0 = k.get("argv", [""])[0]
# gonb --install copies itself into the kernel's folder when $BIN is under /tmp.
copy = os.path.join(os.path.dirname(os.path.abspath(spec)), "gonb")
runs = argv0 == gonb or (argv0 == copy and os.access(copy, os.X_OK)
                         and os.path.getsize(copy) == os.path.getsize(gonb))
ok = runs and k.get("env", {}).get("PATH", "").startswith(path + ":")
sys.exit(0 if ok else 1)
EOF
}

if spec_ok; then
	say "kernel: $SPEC already runs $BIN/gonb"
else
	force=()
	if ((have_gopls == 0)); then
		force=(--force_deps)
	fi
	say "kernel: gonb --install"
	PATH="$BIN:$GOBINDIR:$PATH" "$BIN/gonb" --install "${force[@]}" --logtostderr
	# The kernel starts with the environment of the Jupyter server plus the
	# "env" entry of kernel.json; jupyter_client substitutes ${PATH} there.
	"$PY" - "$SPEC" "$KERNEL_PATH" <<'EOF'
import json, sys
spec, path = sys.argv[1:]
with open(spec) as f:
    k = json.load(f)
k.setdefault("env", {})["PATH"] = path + ":${PATH}"
with open(spec, "w") as f:
    json.dump(k, f, indent=1)
    f.write("\n")
EOF
	spec_ok || die "kernel: $SPEC was not written as expected"
	say "kernel: wrote $SPEC (PATH=$KERNEL_PATH:\${PATH})"
fi

specs=$("$JUPYTER" kernelspec list 2>/dev/null || true)
if ! grep -q '^ *gonb ' <<<"$specs"; then
	die "kernel: 'jupyter kernelspec list' does not show gonb"
fi
say "done: 'jupyter kernelspec list' shows gonb; start with: jupyter notebook notebooks/"
