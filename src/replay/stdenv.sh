# The replay's stand-in for nixpkgs' stdenv (pkgs/stdenv/generic/setup.sh), which the
# nix-eval harness does not carry: the generic builder's phases, hooks and helpers that
# crane's derivations and their setup hooks use, with nixpkgs' names and order. What it
# leaves out (fixupPhase's stripping and patchelf, multiple outputs, cross splicing) is
# listed in docs/ci.md. maou-build runs it with the derivation's environment.
set -e -o pipefail

# The tools of every input: the bin directories, then their setup hooks (in the order the
# derivation lists them, as stdenv sources them).
_inputs="${nativeBuildInputs:-} ${buildInputs:-} ${depsBuildBuild:-} ${propagatedBuildInputs:-}"
for _p in $_inputs; do
    if [ -d "$_p/bin" ]; then PATH="$_p/bin:$PATH"; fi
done
export PATH

runHook() {
    local hookName="$1"
    shift
    local hooksSlice="${hookName%Hook}Hooks[@]"
    # The variable of the same name first (a string of shell, or a function), then the
    # functions and strings setup hooks appended to the array.
    if declare -F "$hookName" >/dev/null; then
        "$hookName" "$@"
    elif [ -n "${!hookName:-}" ]; then
        eval "${!hookName}"
    fi
    local hook
    for hook in ${!hooksSlice+"${!hooksSlice}"}; do
        if declare -F "$hook" >/dev/null; then "$hook" "$@"; else eval "$hook"; fi
    done
    return 0
}

stripHash() {
    local name
    name="$(basename -- "$1")"
    if [[ "$name" =~ ^[a-z0-9]{32}- ]]; then echo "${name:33}"; else echo "$name"; fi
}

isELF() {
    local magic
    magic="$(head -c 4 -- "$1" 2>/dev/null | od -An -c | tr -d ' ')"
    [ "$magic" = '177ELF' ]
}

# Store paths need no patching here: their tools are the host's.
patchShebangs() { :; }
patchelf() { :; }

substitute() {
    local input="$1" output="$2"
    shift 2
    local text
    text="$(cat -- "$input"; echo x)"
    text="${text%x}"
    while [ $# -gt 0 ]; do
        case "$1" in
        --replace-fail | --replace | --replace-quiet)
            text="${text//"$2"/"$3"}"
            shift 3
            ;;
        --subst-var)
            text="${text//@$2@/${!2}}"
            shift 2
            ;;
        --subst-var-by)
            text="${text//@$2@/$3}"
            shift 3
            ;;
        *)
            echo "substitute: unknown argument $1" >&2
            return 1
            ;;
        esac
    done
    printf '%s' "$text" >"$output"
}

unpackFile() {
    local curSrc="$1"
    echo "unpacking source archive $curSrc"
    if [ -d "$curSrc" ]; then
        # As stdenv: timestamps kept (a store path's are 1), then made writable. -H: the
        # replay's store links the evaluation's sources; the copy is of what they name.
        cp -r -H --preserve=mode,timestamps --reflink=auto -- "$curSrc" "$(stripHash "$curSrc")"
    else
        case "$curSrc" in
        *.tar.zst) zstd -d -c -- "$curSrc" | tar -x ;;
        *) tar -xf "$curSrc" ;;
        esac
    fi
}

unpackPhase() {
    runHook preUnpack
    local srcsArray=(${srcs:-${src:-}})
    if [ ${#srcsArray[@]} -eq 0 ]; then
        echo 'variable $src or $srcs should point to the source'
        return 1
    fi
    local dirsBefore=""
    for i in *; do if [ -d "$i" ]; then dirsBefore="$dirsBefore $i "; fi; done
    for i in "${srcsArray[@]}"; do unpackFile "$i"; done
    if [ -z "${sourceRoot:-}" ]; then
        for i in *; do
            if [ -d "$i" ] && [[ "$dirsBefore" != *" $i "* ]]; then
                if [ -n "${sourceRoot:-}" ]; then
                    echo "unpacker produced multiple directories"
                    return 1
                fi
                sourceRoot="$i"
            fi
        done
    fi
    if [ -z "${sourceRoot:-}" ]; then
        echo "unpacker appears to have produced no directories"
        return 1
    fi
    echo "source root is $sourceRoot"
    chmod -R u+w -- "$sourceRoot"
    runHook postUnpack
}

patchPhase() {
    runHook prePatch
    local p
    for p in ${patches:-}; do patch -p1 <"$p"; done
    runHook postPatch
}

configurePhase() {
    runHook preConfigure
    runHook postConfigure
}
buildPhase() {
    runHook preBuild
    runHook postBuild
}
checkPhase() {
    runHook preCheck
    runHook postCheck
}
installPhase() {
    runHook preInstall
    mkdir -p "$out"
    runHook postInstall
}
# stdenv's fixupPhase strips and patches ELF files for the store; the replay keeps them.
fixupPhase() {
    runHook preFixup
    runHook postFixup
}

# A phase given as a string in the derivation runs instead of the function.
_phase() {
    local phase="$1"
    echo "@phase $phase"
    if [ -n "${!phase:-}" ]; then eval "${!phase}"; else "$phase"; fi
}

genericBuild() {
    if [ -n "${buildCommand:-}" ]; then
        eval "$buildCommand"
        return
    fi
    [ -n "${dontUnpack:-}" ] || {
        _phase unpackPhase
        cd -- "${sourceRoot:-.}"
    }
    _phase patchPhase
    [ -n "${dontConfigure:-}" ] || _phase configurePhase
    [ -n "${dontBuild:-}" ] || _phase buildPhase
    [ "${doCheck:-}" != 1 ] || _phase checkPhase
    [ -n "${dontInstall:-}" ] || _phase installPhase
    [ -n "${dontFixup:-}" ] || _phase fixupPhase
}

for _p in $_inputs; do
    if [ -f "$_p/nix-support/setup-hook" ]; then . "$_p/nix-support/setup-hook"; fi
done
unset _p _inputs

cd -- "$NIX_BUILD_TOP"
genericBuild
