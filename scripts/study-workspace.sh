# Sourced by the edit-loop studies (dev-profile-compare; dev-dylib-compare did too until the dylib went into develop) after they set
# `root` (the repository) and `work` (their temporary directory): reads the workspace
# through `maou-build info` and copies its cargo workspace (as committed) to $work/src.
# Sets cargo_root, cdylib_manifest, cdylib_src, rlib_src (the first rlib's, or empty),
# python, python_src, module, ws (the copy), manifest (the cdylib's, in the copy) and
# edits (the files a study edits, relative to the cargo workspace); defines rel.
cargo build -q --bin maou-build --manifest-path "$root/Cargo.toml"
info=$(cd "$root" && target/debug/maou-build info --json)
# One value per line, so that an empty one (a workspace without rlibs) keeps its place.
mapfile -t v < <(python3 -c '
import json, os, sys
i = json.load(sys.stdin)
print(os.path.relpath(i["cargo_workspace_root"], i["root"]))
print(i["cdylib"]["manifest_path"])
print(i["cdylib"]["lib_src"])
print(i["rlib_deps"][0]["lib_src"] if i["rlib_deps"] else "")
print(next(p["interpreter"]["executable"] for p in reversed(i["pythons"]) if p["interpreter"]))
print(i["python_source"])
print(i["module_name"])' <<<"$info")
cargo_root=${v[0]} cdylib_manifest=${v[1]} cdylib_src=${v[2]} rlib_src=${v[3]}
python=${v[4]} python_src=${v[5]} module=${v[6]}
mkdir -p "$work/src"
(cd "$root" && git archive HEAD "$cargo_root") | tar -x -C "$work/src"
ws="$work/src/$cargo_root"
# A path of the checkout, relative to its cargo workspace.
rel() { python3 -c 'import os,sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$1" "$root/$cargo_root"; }
manifest="$ws/$(rel "$cdylib_manifest")"
edits=("$(rel "$cdylib_src")")
if [ -n "$rlib_src" ]; then edits+=("$(rel "$rlib_src")"); fi
