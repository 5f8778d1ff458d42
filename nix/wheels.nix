# The wheels: `maou-build wheel` (the code a developer runs) on the full product sources,
# from the last rlib step's target directory, offline. A stable-ABI extension is built once
# and packaged for each CPython; wheel-cpXY picks one CPython's wheel.
{
  pkgs,
  craneLib,
  product,
  chain,
  tool,
}: let
  inherit (pkgs) lib;
  wheels = craneLib.mkCargoDerivation (chain.common
    // {
      pname = "${product.name}-wheels";
      inherit (product) src;
      cargoArtifacts = chain.lastRlib;
      nativeBuildInputs = chain.common.nativeBuildInputs ++ chain.pythons ++ [tool];
      buildPhaseCargoCommand = ''
        mkdir -p $out
        maou-build wheel --out $out --jobs "$NIX_BUILD_CORES"
      '';
      installPhaseCommand = "";
      doInstallCargoArtifacts = false;
    });
  tag = v: "cp3${lib.versions.minor v}";
  one = v:
    pkgs.runCommand "wheel-${tag v}-${product.version}" {} ''
      mkdir -p $out
      cp ${wheels}/*-${tag v}-${tag v}-*.whl $out/
    '';
in
  {inherit wheels;}
  // lib.listToAttrs (map (v: lib.nameValuePair "wheel-${tag v}" (one v)) product.pythons)
