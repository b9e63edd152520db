#!/usr/bin/env bash
# Vendors the files of DKFDS (Det Fælles Designsystem, npm package dkfds) that
# the desk serves, at the pinned version, and records their sha256 in
# SHA256SUMS. Usage, from anywhere:
#
#   services/decide/desk/vendor/update.sh [VERSION]
#
# It needs npm (only to download the package: `npm pack` fetches the tarball
# and runs no package scripts). Only what the desk uses is copied: the
# minified CSS and JS, the IBM Plex Sans woff2 fonts and the SVG icons the CSS
# refers to, the icon sprite, and the licences. Changing the version changes
# the directory, dkfds-VERSION, and so every URL: update desk.go's
# dkfdsVersion and the paths in index.html with it, then run the desk's tests
# (go test ./services/decide/desk), which check SHA256SUMS against the files.
set -euo pipefail
version=${1:-11.2.0}
here=$(cd "$(dirname "$0")" && pwd)
dest=$here/dkfds-$version
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "dkfds@$version" >/dev/null)
tar -xzf "$tmp/dkfds-$version.tgz" -C "$tmp"
dist=$tmp/package/dist

rm -rf "$dest"
mkdir -p "$dest/css" "$dest/js" "$dest/img/svg-icons" "$dest/fonts/IBMPlexSans/complete/woff2"
cp "$tmp/package/LICENSE.md" "$dest/LICENSE.md"
cp "$dist/css/dkfds.min.css" "$dest/css/"
cp "$dist/js/dkfds.min.js" "$dest/js/"
cp "$dist/img/all-svg-icons.svg" "$dest/img/"
cp "$dist/fonts/IBMPlexSans/complete/woff2/license.txt" "$dest/fonts/IBMPlexSans/complete/woff2/"
# What the components' CSS refers to with url(../…): the woff2 fonts
# (browsers that read woff2 take the first source and never ask for the
# others) and the icons of checkboxes, selects, accordions and alerts. The
# .icon-NAME utility classes, one per icon, are left out: the desk draws its
# icons from the sprite.
for ref in $(grep -o '[^}]*{[^}]*url(\.\./[^)]*)' "$dist/css/dkfds.min.css" |
	grep -v '^\.icon-[a-z0-9-]*:not(a) *{' |
	grep -o 'url(\.\./[^)]*)' | sed 's/^url(\.\.\///; s/)$//' | sort -u); do
	case $ref in
	fonts/*.woff2 | img/svg-icons/*.svg) cp "$dist/$ref" "$dest/$ref" ;;
	esac
done

(cd "$here" && find "dkfds-$version" -type f | LC_ALL=C sort | xargs sha256sum >SHA256SUMS)
echo "dkfds $version: $(find "$dest" -type f | wc -l) files, $(du -sh "$dest" | cut -f1), sums in $here/SHA256SUMS"
