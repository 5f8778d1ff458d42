# Sourced by the scripts: the seed's build environment (layer 3). sccache wraps rustc and
# the cache lives under ~/.cache so that it survives the checkout. Incremental compilation
# and codegen units are the workspace's profiles' (rust/Cargo.toml), read alike by every
# door: no variable here overrides them.
if [ -z "${RUSTC_WRAPPER+set}" ]; then
    RUSTC_WRAPPER=$(command -v sccache || echo sccache)
    # A pyenv shim would start bash and pyenv for every crate: use the real binary.
    case "$RUSTC_WRAPPER" in
        */shims/sccache) RUSTC_WRAPPER=$(pyenv which sccache 2>/dev/null || echo "$RUSTC_WRAPPER") ;;
    esac
    export RUSTC_WRAPPER
fi
export SCCACHE_DIR="${SCCACHE_DIR:-$HOME/.cache/sccache}"
export SCCACHE_CACHE_SIZE="${SCCACHE_CACHE_SIZE:-1G}"
