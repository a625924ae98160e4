# SPDX-License-Identifier: GPL-2.0
# Shared helpers for kspan's scripts: cache layout and kernel flavours.
# Sourced, never executed.

KSPAN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export KSPAN_CACHE=${KSPAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kspan}
# The Node test helpers' packages (scripts/setup installs them).
export NODE_PATH="$KSPAN_CACHE/node/node_modules"
KSPAN_FLAVOURS="6.1 6.12 6.12-rt debug kcsan"

# Debian source package the debug kernel and the harness come from.
KSPAN_SRC_PKG=linux-source-6.12

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
log() { echo "[$(basename "$0")] $*" >&2; }

check_flavour() {
	case " $KSPAN_FLAVOURS " in
	*" $1 "*) ;;
	*) die "unknown kernel flavour '$1' (one of: $KSPAN_FLAVOURS)" ;;
	esac
}

# Debian meta package whose dependency names the current image of a flavour.
flavour_meta_pkg() {
	case "$1" in
	6.1) echo linux-image-amd64 ;;
	6.12) echo linux-image-6.12-amd64 ;;
	6.12-rt) echo linux-image-6.12-rt-amd64 ;;
	*) return 1 ;;
	esac
}

# Where a flavour's boot files live once prepared by scripts/setup:
#   release   kernel release string (uname -r)
#   vmlinuz   the kernel image
#   build     path to the tree out-of-tree modules build against
#   root/     unpacked image package (modules), stock flavours only
flavour_dir() { echo "$KSPAN_CACHE/kernels/$1"; }

flavour_release() {
	local f
	f="$(flavour_dir "$1")/release"
	[ -r "$f" ] || die "kernel '$1' not prepared: run scripts/setup --kernel $1"
	cat "$f"
}

flavour_build_dir() {
	local f
	f="$(flavour_dir "$1")/build"
	[ -r "$f" ] || die "kernel '$1' not prepared: run scripts/setup --kernel $1"
	cat "$f"
}
