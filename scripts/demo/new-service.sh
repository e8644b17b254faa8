#!/bin/sh
# Demo scaffolding for the `new-service` command: copies a template shipped in the repo
# into the workspace, fills in the service name, and commits it as a new git repository.
# Usage: new-service.sh NAME TEMPLATE WORKSPACE
set -eu
name=$1
template=$2
workspace=$3
here=$(cd "$(dirname "$0")/../.." && pwd)
source_dir="$here/templates/$template"
target="$workspace/$name"

if [ ! -d "$source_dir" ]; then
    echo "no template named $template in $here/templates" >&2
    exit 2
fi
if [ -e "$target" ]; then
    echo "$target already exists — pick another name or remove it" >&2
    exit 4
fi
mkdir -p "$workspace"
cp -R "$source_dir" "$target"
# Templates spell the service name __NAME__; replace it in every file.
find "$target" -type f -exec sed -i "s/__NAME__/$name/g" {} +
echo "Copied template $template"
cd "$target"
git init -q -b main .
git -c user.name=platbot -c user.email=platbot@localhost add -A
git -c user.name=platbot -c user.email=platbot@localhost commit -q -m "Scaffold $name from the $template template"
echo "Created git repository $target ($(git rev-parse --short HEAD))"
