#!/usr/bin/env bash
# Installs Kiln for a deployment: a release binary with Swift's runtime linked in, the systemd units of deploy/systemd
# (paths filled in), and a sample configuration that is never overwritten. docs/guides/deploying.md.
#
#   scripts/install.sh                          # build (release, --static-swift-stdlib) and install under /usr/local
#   sudo scripts/install.sh --binary .build/release/kiln
#   DESTDIR=/tmp/pkg scripts/install.sh ...     # stage into a folder (a package build): paths inside stay /usr/local…
#   scripts/install.sh --check-libraries BINARY # BINARY needs exactly the libraries of deploy/runtime-libraries.txt
#
# Options: --prefix DIR (/usr/local), --sysconfdir DIR (/etc), --unitdir DIR (PREFIX/lib/systemd/system, which
# systemd reads), --destdir DIR (or DESTDIR), --binary FILE (install this kiln instead of building one).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

prefix=/usr/local
sysconfdir=/etc
unitdir=""
destdir="${DESTDIR:-}"
binary=""
usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
need() { [ $# -ge 2 ] && [ -n "$2" ] || { echo "install.sh: $1 needs a value" >&2; exit 2; }; }

check_libraries() {
    local file=$1
    [ -x "$file" ] || { echo "install.sh: $file is not an executable" >&2; exit 1; }
    local expected actual toolchain
    expected=$(grep -v '^#' "$root/deploy/runtime-libraries.txt" | awk 'NF { print $1 }' | sort -u)
    # ldd's names, without the kernel's vDSO and the dynamic loader (every binary has both), and without Swift's
    # runtime when it comes from a toolchain (a debug build's): --static-swift-stdlib links that in.
    actual=$(ldd "$file" | awk '$1 !~ /^linux-vdso|ld-linux/ && $3 !~ /\/lib\/swift\// { print $1 }' | sort -u)
    toolchain=$(ldd "$file" | awk '$3 ~ /\/lib\/swift\// { print $1 }' | sort -u)
    if [ "$expected" != "$actual" ]; then
        echo "install.sh: $file needs other libraries than deploy/runtime-libraries.txt lists:" >&2
        diff <(echo "$expected") <(echo "$actual") | sed -n 's/^</  listed, not needed:/p; s/^>/  needed, not listed:/p' >&2
        exit 1
    fi
    echo "$file: $(echo "$actual" | wc -l) shared libraries, as deploy/runtime-libraries.txt lists"
    if [ -n "$toolchain" ]; then
        echo "$file: and $(echo "$toolchain" | wc -l) of Swift's runtime from the toolchain (a --static-swift-stdlib build links them in)"
    fi
    ldd "$file" | awk '$1 ~ /not/ || $3 == "not" { bad = 1; print "  missing: " $1 } END { exit bad }' >&2 ||
        { echo "install.sh: libraries missing on this machine (above)" >&2; exit 1; }
}

while [ $# -gt 0 ]; do
    case "$1" in
    --prefix) need "$@"; prefix=$2; shift 2 ;;
    --sysconfdir) need "$@"; sysconfdir=$2; shift 2 ;;
    --unitdir) need "$@"; unitdir=$2; shift 2 ;;
    --destdir) need "$@"; destdir=$2; shift 2 ;;
    --binary) need "$@"; binary=$2; shift 2 ;;
    --check-libraries) need "$@"; check_libraries "$2"; exit 0 ;;
    -h | --help) usage ;;
    *) echo "install.sh: unknown argument '$1'" >&2; usage ;;
    esac
done
unitdir=${unitdir:-$prefix/lib/systemd/system}
for dir in "$prefix" "$sysconfdir" "$unitdir"; do
    case "$dir" in /*) ;; *) echo "install.sh: '$dir' must be an absolute path" >&2; exit 2 ;; esac
done

if [ -z "$binary" ]; then
    echo "building kiln (release, Swift's runtime linked in; several minutes the first time)" >&2
    (cd "$root" && swift build -c release --static-swift-stdlib --product kiln) >&2
    binary="$root/.build/release/kiln"
fi
[ -x "$binary" ] || { echo "install.sh: no kiln at $binary" >&2; exit 1; }

bindir=$prefix/bin
confdir=$sysconfdir/kiln
# install(1) writes each file whole with its mode; -D makes the folders.
install -D -m 0755 "$binary" "$destdir$bindir/kiln"
for unit in "$root"/deploy/systemd/*.service "$root"/deploy/systemd/*.timer; do
    target="$destdir$unitdir/$(basename "$unit")"
    install -d -m 0755 "$(dirname "$target")"
    sed -e "s|@BINDIR@|$bindir|g" -e "s|@SYSCONFDIR@|$sysconfdir|g" "$unit" >"$target.tmp"
    chmod 0644 "$target.tmp"
    mv "$target.tmp" "$target"
done
install -d -m 0755 "$destdir$confdir"
install -d -m 0700 "$destdir$confdir/credentials"
# The configuration is the operator's: written only when absent. kiln.env may hold a password: 0600.
for file in kiln.yml:0644 kiln.env:0600; do
    name=${file%%:*} mode=${file##*:}
    if [ -e "$destdir$confdir/$name" ]; then
        echo "kept $destdir$confdir/$name (already there)"
    else
        sed -e "s|@SYSCONFDIR@|$sysconfdir|g" "$root/deploy/$name" >"$destdir$confdir/$name.tmp"
        chmod "$mode" "$destdir$confdir/$name.tmp"
        mv "$destdir$confdir/$name.tmp" "$destdir$confdir/$name"
    fi
done

cat <<EOF
installed: $destdir$bindir/kiln, units in $destdir$unitdir, configuration in $destdir$confdir
next (as root, on the target machine):
  useradd --system --home-dir /var/lib/kiln --shell /usr/sbin/nologin kiln
  edit $confdir/kiln.yml and $confdir/kiln.env; a node's key goes to $confdir/credentials/operator.key (0600)
  systemctl daemon-reload && systemctl enable --now kiln-batch.timer kiln-serve.service
EOF
