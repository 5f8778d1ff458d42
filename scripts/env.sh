# Sourced by the scripts: the seed's build environment (layer 3). sccache wraps rustc and
# the cache lives under ~/.cache so that it survives the checkout. Incremental compilation
# and codegen units are the workspace's profiles' (rust/Cargo.toml), read alike by every
# door: no variable here overrides them.
# The wrapper and the cache size: src/dev_build_env.json, their one source.
dev_env_file="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/src/dev_build_env.json"
dev_env() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dev_env_file" "$1"; }
if [ -z "${RUSTC_WRAPPER+set}" ]; then
    wrapper=$(dev_env rustc_wrapper)
    RUSTC_WRAPPER=$(command -v "$wrapper" || echo "$wrapper")
    # A pyenv shim would start bash and pyenv for every crate: use the real binary.
    case "$RUSTC_WRAPPER" in
        */shims/*) RUSTC_WRAPPER=$(pyenv which "$wrapper" 2>/dev/null || echo "$RUSTC_WRAPPER") ;;
    esac
    export RUSTC_WRAPPER
fi
export SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}"
export SCCACHE_CACHE_SIZE="${SCCACHE_CACHE_SIZE:-$(dev_env sccache_cache_size)}"
