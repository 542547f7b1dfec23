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

# fetch_max URL FILE MAXBYTES: download URL into $SCRATCH/FILE, refusing
# more than MAXBYTES (prints the path). Only https://, or http:// to this
# host (a local mirror); redirects only to https://. The stream itself is
# cut at MAXBYTES+1: curl's --max-filesize does not hold for a response
# without a Content-Length, and wget has none. Every step says its own
# failure (|| return 1): sh -e is off in a function called from a
# condition (sourcemod || exit 1).
fetch_max() {
	_f="$SCRATCH/$2"
	case "$1" in
	https://*|http://127.0.0.1[:/]*|http://localhost[:/]*|http://\[::1\][:/]*) ;;
	*) echo "fetch: $1: not an https:// URL (http:// only to this host); refused" >&2; return 1 ;;
	esac
	rm -f "$_f.failed"
	if command -v curl >/dev/null; then
		{ curl -fsSL --proto '=https,http' --proto-redir '=https' --max-filesize "$3" "$1" || : > "$_f.failed"; } | head -c "$(($3 + 1))" > "$_f" || return 1
	else
		{ wget -q -O - "$1" || : > "$_f.failed"; } | head -c "$(($3 + 1))" > "$_f" || return 1
	fi
	if [ "$(wc -c < "$_f")" -gt "$3" ]; then
		echo "fetch: $1: larger than $3 bytes; refused" >&2; return 1
	fi
	if [ -e "$_f.failed" ]; then
		echo "fetch: $1: download failed" >&2; return 1
	fi
	echo "$_f"
}

# untar_checked ARCHIVE WHAT: unpack a .tar.gz into $GAME after checking
# every entry: only files and directories (no links, devices or fifos),
# no absolute path, no .. component, at most 20000 entries and 1 GiB. The
# uncompressed stream is cut at 1 GiB before tar reads it (a small gzip
# can hold a huge tar), and listed with numeric owners and escaped names,
# so that no name or owner in the archive can shift the listing's fields.
untar_checked() {
	_tar="$SCRATCH/.archive.tar"
	rm -f "$_tar.failed"
	{ gzip -dc < "$1" 2>"$SCRATCH/.tarerr" || : > "$_tar.failed"; } | head -c 1073741825 > "$_tar" || return 1
	if [ "$(wc -c < "$_tar")" -gt 1073741824 ]; then
		echo "$2: $(basename "$1"): more than 1 GiB unpacked; refused, nothing unpacked" >&2; return 1
	fi
	if [ -e "$_tar.failed" ]; then
		echo "$2: $(basename "$1") is not a .tar.gz archive: $(head -c 300 "$SCRATCH/.tarerr")" >&2; return 1
	fi
	# -P: names as stored (tar would list /etc/x as etc/x).
	LC_ALL=C tar --numeric-owner --quoting-style=escape -tvPf "$_tar" > "$SCRATCH/.entries" 2>"$SCRATCH/.tarerr" ||
		{ echo "$2: $(basename "$1") is not a .tar.gz archive: $(head -c 300 "$SCRATCH/.tarerr")" >&2; return 1; }
	# tar -tv: MODE UID/GID SIZE DATE TIME NAME (GNU tar); a line of any
	# other shape is refused, not guessed at.
	LC_ALL=C awk -v what="$2" -v archive="$(basename "$1")" '
	function refuse(msg) { print what ": " archive ": " msg "; refused, nothing unpacked" > "/dev/stderr"; bad = 1; exit 1 }
	{
		type = substr($1, 1, 1); size = $3; name = $0
		for (i = 0; i < 5; i++) sub(/^[^ ]+ +/, "", name)
		if (type != "-" && type != "d") refuse("entry " name " is not a file or directory (a link, device or fifo)")
		if (length($1) != 10 || $2 !~ /^[0-9]+\/[0-9]+$/ || $3 !~ /^[0-9]+$/ ||
		    $4 !~ /^[0-9]+-[0-9]+-[0-9]+$/ || $5 !~ /^[0-9]+:[0-9]+(:[0-9]+)?$/)
			refuse("entry listed as \"" substr($0, 1, 200) "\" is not understood")
		n++; total += size
		if (name ~ /\\/) refuse("entry " name " has an unusual name (escaped bytes)")
		if (name ~ /^\// || name ~ /(^|\/)\.\.(\/|$)/) refuse("entry " name " leads outside the game directory")
		if (n > 20000) refuse("more than 20000 entries")
		if (total > 1073741824) refuse("more than 1 GiB unpacked")
	}
	END { if (!bad && n == 0) refuse("empty") }' "$SCRATCH/.entries" || return 1
	tar --no-same-owner --no-same-permissions -xf "$_tar" -C "$GAME" || return 1
	rm -f "$_tar"
}

# alliedmods WHAT HOST DROP PREFIX [BRANCH]: the latest Linux build of an
# AlliedModders project, unpacked into $GAME. Their build servers publish
# it as HOST/DROP/BRANCH/PREFIX-latest-linux, a file naming the archive
# beside it (sm.alliedmods.net/smdrop/1.12/sourcemod-latest-linux holds
# sourcemod-1.12.0-gitNNNN-linux.tar.gz). LEFT4ME_ALLIEDMODS_MIRROR
# replaces HOST (one base for both: MIRROR/smdrop/..., MIRROR/mmsdrop/...).
alliedmods() {
	_what=$1 _drop=$3 _prefix=$4 _branch=${5:-1.12}
	case "$_branch" in
	*..*|*[!0-9A-Za-z._-]*|'') echo "$_what: $_branch: not a branch (like 1.12 or 1.13)" >&2; return 1 ;;
	esac
	_base=${LEFT4ME_ALLIEDMODS_MIRROR:-$2}
	_base="${_base%/}/$_drop/$_branch"
	_latest=$(fetch_max "$_base/$_prefix-latest-linux" "$_prefix-latest-linux" 4096) ||
		{ echo "$_what: no build of branch $_branch at $_base" >&2; return 1; }
	_name=$(tr -d ' \r\n' < "$_latest") || return 1
	case "$_name" in
	*/*|*..*) echo "$_what: $_base/$_prefix-latest-linux names $_name, not an archive beside it; refused" >&2; return 1 ;;
	"$_prefix"-*-linux.tar.gz) ;;
	*) echo "$_what: $_base/$_prefix-latest-linux names '$_name', not a $_prefix-VERSION-linux.tar.gz; refused" >&2; return 1 ;;
	esac
	echo "$_what: $_base/$_name"
	_arch=$(fetch_max "$_base/$_name" "$_name" 268435456) || return 1
	untar_checked "$_arch" "$_what" || return 1
}

# sourcemod [BRANCH], metamod [BRANCH]: the latest SourceMod or
# Metamod:Source build of BRANCH (default 1.12, their stable branch),
# unpacked into $GAME (addons/sourcemod/..., cfg/sourcemod/...;
# addons/metamod/..., addons/metamod.vdf).
sourcemod() { alliedmods sourcemod https://sm.alliedmods.net smdrop sourcemod "$@"; }
metamod() { alliedmods metamod https://mms.alliedmods.net mmsdrop mmsource "$@"; }

# workshop ID...: Steam Workshop items of Left 4 Dead 2 (app 550) through
# steamcmd's workshop_download_item, each as $GAME/addons/ID.vpk, where the
# server loads add-on vpks. steamcmd puts an item in
# FORCE_INSTALL_DIR/steamapps/workshop/content/550/ID/; an item uploaded as
# one file is kept there as a single NNN_legacy.bin (the file itself), so
# a *.vpk or one *_legacy.bin is taken. steamcmd's exit status says nothing of a failed download
# (ValveSoftware/steam-for-linux#12339): its "Success. Downloaded item ID"
# line does. LEFT4ME_STEAMCMD names steamcmd (default: steamcmd in PATH,
# /usr/games/steamcmd); it logs in anonymously.
workshop() {
	[ $# -gt 0 ] || { echo "workshop: give one or more item IDs (the id= of an item's Workshop page)" >&2; return 1; }
	_sc=${LEFT4ME_STEAMCMD:-$(command -v steamcmd || echo /usr/games/steamcmd)}
	_wd="$SCRATCH/workshop"
	set -- "$@" --
	while [ "$1" != -- ]; do
		case "$1" in
		''|*[!0-9]*) echo "workshop: $1: not an item ID (digits only)" >&2; return 1 ;;
		esac
		set -- "$@" +workshop_download_item 550 "$1"
		shift
	done
	shift
	mkdir -p "$_wd" "$GAME/addons" || return 1
	"$_sc" +force_install_dir "$_wd" +login anonymous "$@" +quit > "$SCRATCH/workshop.out" 2>&1 || true
	cat "$SCRATCH/workshop.out"
	while [ $# -gt 0 ]; do
		_id=$3
		shift 3
		if ! grep -q "^Success. Downloaded item $_id to " "$SCRATCH/workshop.out"; then
			echo "workshop: item $_id was not downloaded: $(grep -i "item $_id" "$SCRATCH/workshop.out" | tail -n 1)" >&2
			return 1
		fi
		_got=""
		for _f in "$_wd/steamapps/workshop/content/550/$_id"/*; do
			case "$_f" in
			*.vpk|*_legacy.bin) ;;
			*) continue ;;
			esac
			[ -f "$_f" ] && [ ! -L "$_f" ] || continue
			[ -z "$_got" ] || { echo "workshop: item $_id holds more than one vpk; take its files by hand (addon FILE...)" >&2; return 1; }
			_got=$_f
		done
		[ -n "$_got" ] || { echo "workshop: item $_id holds no vpk (nor a single *_legacy.bin) in $_wd/steamapps/workshop/content/550/$_id" >&2; return 1; }
		cp -- "$_got" "$GAME/addons/$_id.vpk" || return 1
		echo "workshop: item $_id -> addons/$_id.vpk"
	done
}

cd "$LAYER"
. "$BUILDER"
