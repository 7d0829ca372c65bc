#!/bin/sh
# venue-pki.sh — the venue's small PKI for gateway → central rsyslog
# (RELP over mutual TLS). EC P-256 keys, SHA-256, `openssl ca` with an
# index so certificates can be revoked. See certs/README.md.
#
#   venue-pki.sh DIR ca [VENUE-NAME]        the venue CA (once per venue)
#   venue-pki.sh DIR gateway GATEWAY-ID     a gateway's client certificate
#   venue-pki.sh DIR server HOST-NAME       the central server's certificate
#   venue-pki.sh DIR revoke gateways/ID.pem revoke one; rewrites the CRL
#   venue-pki.sh DIR dev [GATEWAY-ID]       all of it for development
#
# Environment: PKI_DAYS (leaf validity, default 397), PKI_CA_DAYS (3650),
# PKI_OUT (another output directory), PKI_START / PKI_END (openssl `ca`
# dates YYMMDDHHMMSSZ: tests make expired
# certificates with them). Keys are written 0600 with umask 077; nothing
# is overwritten: issuing twice for one name is refused (revoke first).
set -eu
umask 077

die() { echo "venue-pki: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: venue-pki.sh DIR ca|gateway|server|revoke|dev [NAME]"
DIR=$1; CMD=$2; shift 2
CA=$DIR/ca
DAYS=${PKI_DAYS:-397}

# names go into file names and subjects: keep them plain
check_name() {
	case "$1" in
	""|*[!A-Za-z0-9._-]*|.*) die "bad name '$1' (letters, digits, '.', '-', '_')" ;;
	esac
}

ca_conf() {
	cat > "$CA/openssl.cnf" <<EOF
[ ca ]
default_ca = venue
[ venue ]
dir = $CA
database = \$dir/index.txt
new_certs_dir = \$dir/issued
serial = \$dir/serial
crlnumber = \$dir/crlnumber
certificate = \$dir/venue-ca.pem
private_key = \$dir/venue-ca.key
default_md = sha256
default_crl_days = 30
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = placeholder
[ v3_ca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ v3_gateway ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:\${ENV::PKI_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ v3_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:\${ENV::PKI_SAN}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
}

make_ca() {
	name=${1:-Venue}
	[ -f "$CA/venue-ca.pem" ] && die "$CA/venue-ca.pem exists; a venue has one CA"
	mkdir -p "$CA/issued"
	chmod 700 "$CA"
	: > "$CA/index.txt"
	echo 1000 > "$CA/serial"
	echo 1000 > "$CA/crlnumber"
	ca_conf
	openssl ecparam -name prime256v1 -genkey -noout -out "$CA/venue-ca.key" 2>/dev/null
	chmod 600 "$CA/venue-ca.key"
	PKI_SAN=unused openssl req -new -x509 -config "$CA/openssl.cnf" -extensions v3_ca \
	    -key "$CA/venue-ca.key" -subj "/O=$name/CN=$name venue CA" \
	    -days "${PKI_CA_DAYS:-3650}" -out "$CA/venue-ca.pem"
	chmod 644 "$CA/venue-ca.pem"
	crl
	echo "venue CA: $CA/venue-ca.pem (key $CA/venue-ca.key: keep it offline)"
}

# issue KIND NAME OUTDIR
issue() {
	kind=$1; name=$2; out=${PKI_OUT:-$3}
	check_name "$name"
	[ -f "$CA/venue-ca.pem" ] || die "no CA in $CA (run: venue-pki.sh $DIR ca)"
	[ -f "$out/$name.pem" ] && die "$out/$name.pem exists (revoke it, then move it away)"
	mkdir -p "$out"
	openssl ecparam -name prime256v1 -genkey -noout -out "$out/$name.key" 2>/dev/null
	chmod 600 "$out/$name.key"
	PKI_SAN=$name openssl req -new -config "$CA/openssl.cnf" -key "$out/$name.key" \
	    -subj "/CN=$name" -out "$out/$name.csr"
	set -- -days "$DAYS"
	[ -n "${PKI_START:-}" ] && set -- "$@" -startdate "$PKI_START"
	[ -n "${PKI_END:-}" ] && set -- -enddate "$PKI_END" ${PKI_START:+-startdate "$PKI_START"}
	PKI_SAN=$name openssl ca -batch -notext -config "$CA/openssl.cnf" \
	    -extensions "v3_$kind" "$@" -in "$out/$name.csr" -out "$out/$name.pem" 2>"$out/$name.log" ||
	    { cat "$out/$name.log" >&2; rm -f "$out/$name.key"; die "issuing $name failed"; }
	rm -f "$out/$name.csr" "$out/$name.log"
	chmod 644 "$out/$name.pem"
	echo "$kind $name: $out/$name.pem, key $out/$name.key (0600)"
}

crl() {
	PKI_SAN=unused openssl ca -config "$CA/openssl.cnf" -gencrl -out "$CA/venue-ca.crl" 2>/dev/null
	chmod 644 "$CA/venue-ca.crl"
}

case "$CMD" in
ca)	make_ca "${1:-Venue}" ;;
gateway) [ $# = 1 ] || die "usage: venue-pki.sh DIR gateway GATEWAY-ID"; issue gateway "$1" "$DIR/gateways" ;;
server)	[ $# = 1 ] || die "usage: venue-pki.sh DIR server HOST-NAME"; issue server "$1" "$DIR/server" ;;
revoke)	[ $# = 1 ] || die "usage: venue-pki.sh DIR revoke CERT.pem"
	PKI_SAN=unused openssl ca -config "$CA/openssl.cnf" -revoke "$1" 2>/dev/null ||
	    die "cannot revoke $1"
	crl
	echo "revoked $1; CRL: $CA/venue-ca.crl (also remove the name from tls.permittedPeer)" ;;
dev)	gw=${1:-gw-dev-01}
	make_ca "Development"
	issue server localhost "$DIR/server"
	issue gateway "$gw" "$DIR/gateways" ;;
*)	die "unknown command '$CMD' (ca, gateway, server, revoke, dev)" ;;
esac
