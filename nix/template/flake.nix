{
  description = "This workspace's wheels, dev shell and checks, built by maou-build's flake";

  # Where maou-build is hosted (`maou-build init` writes it; after `nix flake init -t`,
  # put the URL the template came from); nixpkgs, crane and fenix come pinned through
  # its own lock.
  inputs.maou-build.url = "github:OWNER/maou-build";

  outputs = {maou-build, ...}: maou-build.lib.outputsFor {src = ./.;};
}
