#!/bin/sh
# Test certificates for deploy/compose.yaml, made once by its one-shot
# "certs" service (alpine with openssl) into the certs volume:
#   ca.crt            the stack's CA (trusted by the workers: NATS_CA, REDIS_CA)
#   nats.crt/.key     the NATS nodes' certificate (nats-0, nats-1, nats-2, localhost)
#   redis.crt/.key    Redis's certificate (redis, localhost)
# For this stack only: the keys are world-readable so that Redis and NATS,
# which run as other users, can read them. Production takes certificates from
# cert-manager (the Helm chart's tls.certManager) or the organisation's PKI.
# Run by hand: sh deploy/certs.sh DIR (needs openssl).
set -eu
dir=${1:-/certs}
mkdir -p "$dir"
cd "$dir"
if [ -s ca.crt ] && [ -s nats.crt ] && [ -s redis.crt ]; then
	echo "certs: already made in $dir"
	exit 0
fi
command -v openssl >/dev/null || apk add --no-cache openssl >/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=efaktura compose CA" \
	-keyout ca.key -out ca.crt
issue() { # name, subjectAltName
	openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr"
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
		-extfile "$1.ext" -out "$1.crt"
	rm -f "$1.csr" "$1.ext"
}
issue nats "DNS:nats-0,DNS:nats-1,DNS:nats-2,DNS:localhost,IP:127.0.0.1"
issue redis "DNS:redis,DNS:localhost,IP:127.0.0.1"
rm -f ca.key ca.srl
chmod 644 ./*.crt ./*.key
echo "certs: made in $dir"
