{
  description = "This workspace's wheels, dev shell and checks, built by maou-build's flake";

  # maou-build's repository (OWNER: where it is hosted); nixpkgs, crane and fenix come
  # pinned through its own lock.
  inputs.maou-build.url = "github:OWNER/maou-build";

  outputs = {maou-build, ...}: maou-build.lib.outputsFor {src = ./.;};
}
