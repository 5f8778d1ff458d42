# `nix develop`: the pinned toolchain and every tool of the edit loop, with the dev
# environment that keeps rebuilds cached (sccache; non-incremental builds and 16 codegen
# units come from the workspace's profiles, which every door reads), the CPythons
# requires-python allows, and two lines on entry.
{
  pkgs,
  craneLib,
  pythons,
  maou-build,
}: let
  # The settings every door shares that are not Cargo profile keys: one file, read by
  # maou-build too (src/sccache.rs) and by scripts/env.sh.
  devEnv = builtins.fromJSON (builtins.readFile ../src/dev_build_env.json);
in
  craneLib.devShell {
    packages =
      [
        pkgs.lld
        pkgs.sccache
        pkgs.maturin
        pkgs.uv
        pkgs.zig
        pkgs.gh
        maou-build
      ]
      ++ pythons;
    env =
      {
        RUSTC_WRAPPER = devEnv.rustc_wrapper;
        SCCACHE_CACHE_SIZE = devEnv.sccache_cache_size;
      }
      # maou.onnx's runtime from nixpkgs (pinned by flake.lock), through ort's own
      # variable: opened at run time, never linked (docs/onnx.md). A package set without
      # it (nix-eval's stand-in) leaves maou.onnx to the onnxruntime package from PyPI.
      // pkgs.lib.optionalAttrs (pkgs ? onnxruntime) {
        ORT_DYLIB_PATH = "${pkgs.onnxruntime}/lib/libonnxruntime.so";
      };
    # HOME is only known when the shell starts.
    shellHook = ''
      export SCCACHE_DIR="''${SCCACHE_DIR:-$HOME/.cache/sccache}"
      echo "maou dev shell: $(rustc --version), lld, sccache"
      echo "sccache cache: $SCCACHE_DIR (${devEnv.sccache_cache_size}); build with: maou-build develop"
    '';
  }
