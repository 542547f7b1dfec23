# left4me overlay builder helpers, defined before the builder runs (sh -eu).
# Environment: LAYER (the new layer; the game directory's root),
# GAME=$LAYER/left4dead2, SCRATCH (empty, private), OVERLAY (the name),
# VERSION (the new version's ID), INSTANCES (space-separated instances whose
# spec names this overlay).
GAME="$LAYER/left4dead2"
mkdir -p "$GAME"

# fetch URL [FILE]: download into $SCRATCH (prints the path).
fetch() {
	_f="$SCRATCH/${2:-$(basename "$1")}"
	if command -v curl >/dev/null; then curl -fsSL -o "$_f" "$1"
	else wget -q -O "$_f" "$1"; fi
	echo "$_f"
}

# unpack ARCHIVE [DIR]: extract a .zip/.tar[.gz|.bz2|.xz]/.tgz into
# $GAME/DIR (default: $GAME, as SourceMod/Metamod archives hold addons/...).
unpack() {
	_d="$GAME/${2:-}"
	mkdir -p "$_d"
	case "$1" in
	*.zip|*.ZIP)
		if command -v unzip >/dev/null; then unzip -qo "$1" -d "$_d"
		elif command -v bsdtar >/dev/null; then bsdtar -xf "$1" -C "$_d"
		else python3 -m zipfile -e "$1" "$_d"; fi ;;
	*) tar --no-same-owner --no-same-permissions -xf "$1" -C "$_d" ;;
	esac
}

# addon FILE...: copy files (a .vpk map, a plugin) into $GAME/addons/.
addon() { mkdir -p "$GAME/addons" && cp -- "$@" "$GAME/addons/"; }

# cfg NAME: write stdin to $GAME/cfg/NAME; NAME may name subdirectories
# (sourcemod/extra.cfg), which are created, but not leave cfg/.
cfg() {
	case "/$1/" in
	//|*/../*|*/./*|*//*) echo "cfg: $1: want a relative path below cfg/ (like sourcemod/extra.cfg)" >&2; return 1 ;;
	esac
	mkdir -p "$(dirname "$GAME/cfg/$1")" && cat > "$GAME/cfg/$1"
}

# server_cfg: write stdin to $GAME/cfg/server.cfg, the file an aliased
# overlay contributes (staged as server_ALIAS.cfg and exec'd).
server_cfg() { cfg server.cfg; }

cd "$LAYER"
. "$BUILDER"
