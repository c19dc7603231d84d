#!/bin/sh
# Install the Debian 12 packages that building, testing and the demo need,
# when they are missing.  Runs as root (apt-get); prints nothing when all
# are there.
set -e

PACKAGES="
make gcc libc6-dev
postgresql-15 postgresql-server-dev-15 postgresql-client-15 postgresql-common libpq-dev
libpcap-dev zlib1g-dev libmaxminddb-dev libssl-dev
tcpdump tshark clang libclang-rt-14-dev llvm
libmaxmind-db-writer-perl libmaxmind-db-reader-xs-perl libgeo-ip-perl geoip-database perl bc
gnuplot-nox
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark (the link types' oracle, test/t/022_links.t) pulls in
# wireshark-common, which asks whether non-root users may capture: no
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -qq >&2
# the PostgreSQL packages create a default cluster; the tests use their own
apt-get install -y -qq --no-install-recommends $missing >&2
