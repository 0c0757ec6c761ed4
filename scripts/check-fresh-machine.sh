#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian 12 (bookworm) root, as a new
# user would: a minimal root from debootstrap (bookworm + bookworm-updates +
# bookworm-security, cached between runs and copied afresh for every check), a
# clean clone of the committed HEAD (main by default) copied into it, /proc,
# /sys, /dev and /dev/shm mounted (OpenMP, MPI and Python need them), then
#   bash scripts/run-example.sh     (set up + the main job)
#   bash scripts/test.sh            (set up + every test)
# inside it with chroot. Prints each command's time and result and exits
# non-zero if either fails. Needs root (debootstrap, mount, chroot).
#
#   bash scripts/check-fresh-machine.sh [--ref REF] [--cold] [--keep]
#
#   --ref REF  what to clone (default: main)
#   --cold     do not share the host's ccache: a fully cold build (slower;
#              the check is about what is installed, so sharing compile
#              outputs changes nothing it can find)
#   --keep     keep the root after the run (default: removed)
#
# Environment: LATHE_FRESH_DIR (default /var/tmp/lathe-fresh) holds the cached
# base root (base.tar) and the working root.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

ref=main
cold=0
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --ref) ref=${2:?--ref needs a value}; shift 2 ;;
    --cold) cold=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "check-fresh-machine: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$(id -u)" != 0 ]; then
  echo "check-fresh-machine: needs root (debootstrap, mount, chroot); run with sudo" >&2
  exit 2
fi
# The commit is fixed now: what is tested and what the last line names is this
# one, even if the branch moves while the check runs.
commit=$(git -C "$repo" rev-parse --verify -q "$ref^{commit}") || {
  echo "check-fresh-machine: '$ref' is not a commit of this repository" >&2; exit 2; }

dir=${LATHE_FRESH_DIR:-/var/tmp/lathe-fresh}
base=$dir/base.tar
root=$dir/root
mkdir -p "$dir"

command -v debootstrap >/dev/null || {
  echo "== installing debootstrap on the host =="
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
}

mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  if [ "$keep" = 0 ] && [ -d "$root" ]; then rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Unmount anything a killed earlier run left behind before deleting its root.
if [ -d "$root" ]; then
  for m in dev/shm dev/pts dev sys proc ccache; do
    umount -l "$root/$m" 2>/dev/null || true
  done
  rm -rf "$root"
fi

mirror=${LATHE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -f "$base" ]; then
  echo "== debootstrap bookworm (cached in $base) =="
  start=$SECONDS
  tmp=$dir/bootstrap
  rm -rf "$tmp"
  debootstrap --variant=minbase bookworm "$tmp" "$mirror" >"$dir/debootstrap.log" 2>&1 || {
    tail -20 "$dir/debootstrap.log"; echo "check-fresh-machine: debootstrap failed" >&2; exit 1; }
  cat >"$tmp/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb http://security.debian.org/debian-security bookworm-security main
EOF
  tar -C "$tmp" -cf "$base" .
  rm -rf "$tmp"
  echo "debootstrap: $((SECONDS - start)) s"
fi

mkdir -p "$root"
tar -C "$root" -xf "$base"
cp /etc/resolv.conf "$root/etc/resolv.conf"

# A clean clone of the committed tree, with ../shared beside it as in CI.
mkdir -p "$root/work"
git clone -q --no-hardlinks "$repo" "$root/work/main"
git -C "$root/work/main" checkout -q "$ref"
git -C "$root/work/main" reset -q --hard "$commit"
if [ -d "$repo/../shared" ]; then
  cp -r "$repo/../shared" "$root/work/shared"
fi

for m in proc sys dev dev/shm; do
  mkdir -p "$root/$m"
done
mount -t proc proc "$root/proc"; mounted+=("$root/proc")
mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounted+=("$root/sys")
mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounted+=("$root/dev")
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"; mounted+=("$root/dev/shm")

ccache_env=()
if [ "$cold" = 0 ]; then
  host_ccache=$(ccache -k cache_dir 2>/dev/null || echo "$HOME/.ccache")
  if [ -d "$host_ccache" ]; then
    mkdir -p "$root/ccache"
    mount --bind "$host_ccache" "$root/ccache"; mounted+=("$root/ccache")
    # The compiler is installed anew in the root (a new mtime): compare it by
    # its version string instead.
    ccache_env=(CCACHE_DIR=/ccache "CCACHE_COMPILERCHECK=%compiler% --version")
  fi
fi

status=0
run_in_root() {
  local name=$1 cmd=$2 start rc
  echo "== [$name] $cmd =="
  start=$SECONDS
  set +e
  chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 TERM=dumb "${ccache_env[@]}" bash -c "cd /work/main && $cmd" 2>&1 | tee "$dir/$name.log" | tail -n 25
  rc=${PIPESTATUS[0]}
  set -e
  local t=$((SECONDS - start))
  if [ "$rc" = 0 ]; then
    echo "RESULT-$name: passed in ${t} s"
  else
    echo "RESULT-$name: FAILED (exit $rc) after ${t} s; full log: $dir/$name.log"
    status=1
  fi
}

# The README's two commands, in its order, on one machine.
run_in_root main-job "bash scripts/run-example.sh"
run_in_root tests "bash scripts/test.sh"

echo "== fresh Debian 12 root: $( [ $status = 0 ] && echo passed || echo FAILED ) (commit ${commit:0:7}) =="
exit $status
