# Sourced by ./kiln and .ci/run: reads scripts/system-packages.txt, the one list of Debian packages Kiln needs.
# system_packages USE...   the packages of those uses (build, test), one a line
# missing_packages PKG...  those of PKG... that dpkg does not have installed (reads dpkg's database; no apt)
# install_packages PKG...  apt-get update + install, as root or through sudo; a clear message when neither works
kiln_packages_list="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/system-packages.txt"

system_packages() {
    awk -v uses=" $* " '!/^[[:space:]]*#/ && NF >= 2 && index(uses, " " $2 " ") { print $1 }' "$kiln_packages_list"
}

missing_packages() {
    [ $# -gt 0 ] || return 0
    local installed
    # dpkg-query exits 1 when it knows none of a name (a package never installed, or removed and purged): that
    # is an answer, not a failure, under callers' `set -e -o pipefail`.
    installed=$({ dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null || true; } |
        awk '$2 == "installed" { print $1 }')
    local package
    for package in "$@"; do
        grep -qx -- "$package" <<<"$installed" || echo "$package"
    done
}

install_packages() {
    [ $# -gt 0 ] || return 0
    local as_root=()
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            kiln_cannot_install "you are not root and sudo is not installed" "$@"
            return 1
        fi
        as_root=(sudo)
        # Without a terminal sudo cannot ask for a password: fail at once instead of hanging.
        [ -t 0 ] || as_root=(sudo -n)
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        kiln_cannot_install "apt-get is not available (Kiln's packages are named as Debian's)" "$@"
        return 1
    fi
    if ! { "${as_root[@]}" apt-get update -qq &&
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }; then
        kiln_cannot_install "apt-get failed (above)" "$@"
        return 1
    fi
}

kiln_cannot_install() {   # REASON PACKAGE...
    local reason="$1"
    shift
    {
        echo "Kiln needs these Debian packages: $*"
        echo "They could not be installed: $reason."
        echo "Install them as root, then run the command again:"
        echo "    apt-get install -y $*"
        echo "(What each is for: scripts/system-packages.txt.)"
    } >&2
}
