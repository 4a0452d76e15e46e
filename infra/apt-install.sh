# Sourced by the install-*-tools.sh scripts: `apt_install WHO PACKAGE...` installs Debian
# packages, as root or through sudo, quietly and without recommends; it stops the script when
# neither is possible, saying what to install by hand.
apt_install() {
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "$who: $* missing and this is not root: apt-get install $*" >&2
    exit 1
  fi
  local sudo
  sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo sudo)
  echo "$who: installing Debian's $* with apt-get"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
