# Stand-in for nixpkgs: the packages and builders nix/ uses, each a record with a name.
let
  lib = import ./lib.nix;
  drv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/stand-in-${name}";
  };
  python = version:
    drv "python${version}"
    // {
      pythonVersion = version;
      interpreter = "/nix/store/stand-in-python${version}/bin/python${version}";
    };
  pkgs = {
    inherit lib;
    stdenv.hostPlatform.rust.rustcTarget = "x86_64-unknown-linux-gnu";
    lld = drv "lld";
    sccache = drv "sccache";
    maturin = drv "maturin";
    uv = drv "uv";
    zig = drv "zig";
    gh = drv "gh";
    git = drv "git";
    cargo-zigbuild = drv "cargo-zigbuild";
    python311 = python "3.11";
    python312 = python "3.12";
    symlinkJoin = args: drv args.name // {inherit args;};
    runCommand = name: env: script: drv name // {inherit env script;};
    writeShellApplication = args:
      drv args.name
      // {
        inherit args;
        meta.mainProgram = args.name;
      };
  };
in {
  inherit lib;
  legacyPackages.x86_64-linux = pkgs;
}
