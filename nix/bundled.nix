# The native libraries the wheels carry ([[tool.maou-build.bundled-libraries]] in
# pyproject.toml, src/bundled.rs): each archive a fixed-output fetch pinned by its
# SHA-256, the library taken out of it and checked against its own pin, and laid out where
# `maou-build wheel` looks for it in its cache. Every step of the chain hands the build
# the same directory through the same variables (`ORT_LIB_LOCATION` for ONNX Runtime), so
# no fingerprint differs between the steps and the wheel build, and no build script
# downloads anything.
{
  pkgs,
  product,
}: let
  inherit (pkgs) lib;
  fileOf = member: lib.last (lib.splitString "/" member);
  # The cache maou-build reads in the build ($TMPDIR is the same in every step).
  cache = "$TMPDIR/maou-build-cache";
  one = l: let
    file = fileOf l.member;
    name = "${l.link-name}-${builtins.substring 0 16 l.member-sha256}";
  in {
    dir = "${cache}/inputs/${name}";
    env = l.env or {};
    drv =
      pkgs.runCommand "bundled-${name}" {
        src = pkgs.fetchurl {inherit (l) url sha256;};
        nativeBuildInputs = [pkgs.unzip pkgs.patchelf];
      } ''
        mkdir -p $out
        unzip -p $src ${lib.escapeShellArg l.member} > $out/${file}
        echo "${l.member-sha256}  $out/${file}" | sha256sum -c -
        ln -s ${file} $out/lib${l.link-name}.so
        soname=$(patchelf --print-soname $out/${file})
        [ -e "$out/$soname" ] || ln -s ${file} "$out/$soname"
      '';
  };
  libs = map one product.bundledLibraries;
in {
  any = libs != [];
  # maturin grafts them into the wheels with patchelf; what their crates' build scripts
  # still compile comes from nixpkgs (nix-native-build-inputs).
  nativeBuildInputs =
    lib.optional (libs != []) pkgs.patchelf
    ++ lib.concatMap (l: map (name: pkgs.${name}) (l.nix-native-build-inputs or [])) product.bundledLibraries;
  # For preBuild: the cache laid out, the build's variables, the loader's path for
  # maturin's repair.
  setup =
    lib.optionalString (libs != []) ''
      export MAOU_BUILD_CACHE=${cache}
      mkdir -p ${cache}/inputs
    ''
    + lib.concatMapStrings (l:
      ''
        ln -sfn ${l.drv} ${l.dir}
        export LD_LIBRARY_PATH=${l.dir}''${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
      ''
      + lib.concatStrings (lib.mapAttrsToList (k: v: ''
          export ${k}="${builtins.replaceStrings ["@DIR@"] [l.dir] v}"
        '')
        l.env))
    libs;
}
