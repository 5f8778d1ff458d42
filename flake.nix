{
  description = "maou-build: fast, reproducible builds of maou's PyO3 extension (maou._rust)";

  inputs = {
    nixpkgs.url = "github:nixos/nixpkgs/nixos-unstable";
    crane.url = "github:ipetkov/crane";
    fenix = {
      url = "github:nix-community/fenix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = {
    nixpkgs,
    crane,
    fenix,
    ...
  }: let
    # The seed's only platform. Another system is one more string here.
    systems = ["x86_64-linux"];
    perSystem = nixpkgs.lib.genAttrs systems (system:
      import ./nix {
        inherit crane fenix system;
        pkgs = nixpkgs.legacyPackages.${system};
        root = ./.;
      });
    collect = name: builtins.mapAttrs (_: outputs: outputs.${name}) perSystem;
  in {
    packages = collect "packages";
    devShells = collect "devShells";
    apps = collect "apps";
    checks = collect "checks";
  };
}
