# `nix develop`: the pinned toolchain and every tool of the edit loop, with the seed's dev
# environment (sccache, non-incremental, 16 codegen units), and two lines on entry.
{
  pkgs,
  craneLib,
  maou-build,
}:
craneLib.devShell {
  packages = [
    pkgs.lld
    pkgs.sccache
    pkgs.maturin
    pkgs.uv
    pkgs.python311
    pkgs.python312
    pkgs.zig
    pkgs.gh
    maou-build
  ];
  env = {
    RUSTC_WRAPPER = "sccache";
    SCCACHE_CACHE_SIZE = "1G";
    CARGO_INCREMENTAL = "0";
    CARGO_PROFILE_DEV_CODEGEN_UNITS = "16";
  };
  # HOME is only known when the shell starts.
  shellHook = ''
    export SCCACHE_DIR="''${SCCACHE_DIR:-$HOME/.cache/sccache}"
    echo "maou dev shell: $(rustc --version), lld, sccache"
    echo "sccache cache: $SCCACHE_DIR (1G); build with: maou-build develop"
  '';
}
