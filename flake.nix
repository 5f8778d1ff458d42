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
    lib = import ./nix/lib.nix {
      inherit nixpkgs crane fenix;
      toolRoot = ./.;
    };
  in
    lib.outputsFor {
      src = ./.;
      withToolChecks = true;
    }
    // {
      # For another workspace's flake: `maou-build.lib.outputsFor { src = ./.; }`.
      inherit lib;
      templates.default = {
        path = ./nix/template;
        description = "A maturin workspace's wheels, dev shell and checks through maou-build";
      };
    };
}
