#!/usr/bin/env bash
# Fetch a fixed, hand-curated set of real photographs from Debian packages into bench/data/photos/
# for bench/image_provenance.py (issue 9: measure the image watermark on >= 50 held-out photos).
#
# Why Debian packages: they are reviewed for licences, versioned, and reachable with apt alone. The
# packages are only downloaded (`apt-get download`) and unpacked (`dpkg -x`) into a cache folder —
# nothing is installed, and the photos are never committed or shipped (bench/data/photos/ is in
# .gitignore). Run it once at setup time; the benchmark itself never touches the network.
#
#   bash bench/data/fetch_photos.sh                 # cache in ~/.cache/assay-photos (PHOTO_CACHE=... to move it)
#
# Idempotent: a .deb already in the cache is not fetched again, an unpacked package is not unpacked
# again, and a photo already in place with the same bytes is not copied again. It prints what it
# fetched and copied, and writes bench/data/photos/SOURCES.tsv (file, package, version, path, licence).
#
# Curation: every file below was looked at (a contact sheet of all candidate images in these packages)
# and kept only if it is a camera photograph. Left out: digital art, renders (e.g. opencv's
# Blender_Suzanne, smarties, plasma's ColorfulCups), gradients, logos, vector art, SVG, masks, ground
# truth maps, synthetic blur tests, the second view of stereo pairs and image sequences (aloeR, right*,
# leuvenB, graf3, aero3, basketball2, rubberwhale2), the 13 further chessboard calibration shots, a
# painting (starry_night) and photos of uncertain kind (lomiri's analogpattern and greentock, plasma's
# Volna). Licences are those the package's debian/copyright file gives for the file.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DEST="${ROOT}/bench/data/photos"
CACHE="${PHOTO_CACHE:-${HOME}/.cache/assay-photos}"
OCV=usr/share/doc/opencv-doc/examples

# package | path inside the package | name in bench/data/photos | licence (debian/copyright)
PHOTOS="
lomiri-wallpapers-16.04|usr/share/backgrounds/Bridge_by_Sander_Klootwijk.jpg|lomiri__Bridge.jpg|CC-BY-SA-4.0 (Sander Klootwijk)
lomiri-wallpapers-16.04|usr/share/backgrounds/Dragonfly_by_Bolly.jpg|lomiri__Dragonfly.jpg|CC-BY-SA-4.0 (Bolly)
lomiri-wallpapers-16.04|usr/share/backgrounds/Picture_0B_by_freespace.jpg|lomiri__Picture_0B.jpg|CC-BY-4.0 (Trevor Freespace)
lomiri-wallpapers-16.04|usr/share/backgrounds/Picture_1A_by_freespace.jpg|lomiri__Picture_1A.jpg|CC-BY-4.0 (Trevor Freespace)
lomiri-wallpapers-16.04|usr/share/backgrounds/Wine_by_Jakkub_Mede.jpg|lomiri__Wine.jpg|CC-BY-4.0 (Jakub Mede)
lomiri-wallpapers-16.04|usr/share/backgrounds/aitzgorri_by_Aitzol_Berasategi.jpg|lomiri__aitzgorri.jpg|CC-BY-4.0 (Aitzol Berasategi)
lomiri-wallpapers-16.04|usr/share/backgrounds/free_by_Peter_Nerlich.jpg|lomiri__free.jpg|CC-BY-SA-4.0 (Peter Nerlich)
lomiri-wallpapers-16.04|usr/share/backgrounds/friends_by_Aitzol_Berasategi.jpg|lomiri__friends.jpg|CC-BY-4.0 (Aitzol Berasategi)
lomiri-wallpapers-16.04|usr/share/backgrounds/life_by_Aitzol_Berasategi.jpg|lomiri__life.jpg|CC-BY-4.0 (Aitzol Berasategi)
lomiri-wallpapers-16.04|usr/share/backgrounds/picosdeeuropa_by_Aitzol_Berasategi.jpg|lomiri__picosdeeuropa.jpg|CC-BY-4.0 (Aitzol Berasategi)
lomiri-wallpapers-16.04|usr/share/backgrounds/seeding_by_Clements_Engelhardt.jpg|lomiri__seeding.jpg|CC0-1.0 (Clemens Engelhardt)
lomiri-wallpapers-16.04|usr/share/backgrounds/sunset_by_Aitzol_Berasategi.jpg|lomiri__sunset.jpg|CC-BY-4.0 (Aitzol Berasategi)
lomiri-wallpapers-20.04|usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg|lomiri__Kleiber.jpg|CC-BY-SA-3.0 (Lukas Baubkus)
mate-backgrounds|usr/share/backgrounds/mate/nature/Aqua.jpg|mate__Aqua.jpg|GPL-2+ (Charles Barbin)
mate-backgrounds|usr/share/backgrounds/mate/nature/Blinds.jpg|mate__Blinds.jpg|GPL-2+ (Lennart Poettering)
mate-backgrounds|usr/share/backgrounds/mate/nature/Dune.jpg|mate__Dune.jpg|GPL-2+ (Marco Cogoni)
mate-backgrounds|usr/share/backgrounds/mate/nature/FreshFlower.jpg|mate__FreshFlower.jpg|GPL-2+ (Jens Ansorg)
mate-backgrounds|usr/share/backgrounds/mate/nature/Garden.jpg|mate__Garden.jpg|GPL-2+ (Charles Barbin)
mate-backgrounds|usr/share/backgrounds/mate/nature/GreenMeadow.jpg|mate__GreenMeadow.jpg|GPL-2+ (Timothy Schellhase)
mate-backgrounds|usr/share/backgrounds/mate/nature/LadyBird.jpg|mate__LadyBird.jpg|GPL-2+ (Charles Barbin)
mate-backgrounds|usr/share/backgrounds/mate/nature/RainDrops.jpg|mate__RainDrops.jpg|GPL-2+ (blackcombwhistler07)
mate-backgrounds|usr/share/backgrounds/mate/nature/Storm.jpg|mate__Storm.jpg|GPL-2+ (Sergey Nazarov)
mate-backgrounds|usr/share/backgrounds/mate/nature/TwoWings.jpg|mate__TwoWings.jpg|GPL-2+ (Charles Barbin)
mate-backgrounds|usr/share/backgrounds/mate/nature/Wood.jpg|mate__Wood.jpg|GPL-2+ (Jean-François Fortin Tam)
mate-backgrounds|usr/share/backgrounds/mate/nature/YellowFlower.jpg|mate__YellowFlower.jpg|GPL-2+ (Charles Barbin)
plasma-workspace-wallpapers|usr/share/wallpapers/BytheWater/contents/images/2560x1600.jpg|plasma__BytheWater.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/ColdRipple/contents/images/2560x1600.jpg|plasma__ColdRipple.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/DarkestHour/contents/images/2560x1600.jpg|plasma__DarkestHour.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/EveningGlow/contents/images/2560x1600.jpg|plasma__EveningGlow.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/FallenLeaf/contents/images/2560x1600.jpg|plasma__FallenLeaf.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/Grey/contents/images/2560x1600.jpg|plasma__Grey.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/Kite/contents/images/2560x1600.jpg|plasma__Kite.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/OneStandsOut/contents/images/2560x1600.jpg|plasma__OneStandsOut.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/Path/contents/images/2560x1600.jpg|plasma__Path.jpg|GPL-2+ (KDE Visual Design Group)
plasma-workspace-wallpapers|usr/share/wallpapers/summer_1am/contents/images/2560x1600.jpg|plasma__summer_1am.jpg|GPL-2+ (KDE Visual Design Group)
opencv-doc|${OCV}/alphamat/input_images/plant.jpg|opencv__plant.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/aero1.jpg|opencv__aero1.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/aloeL.jpg|opencv__aloeL.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/apple.jpg|opencv__apple.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/baboon.jpg|opencv__baboon.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/basketball1.png|opencv__basketball1.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/board.jpg|opencv__board.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/box_in_scene.png|opencv__box_in_scene.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/building.jpg|opencv__building.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/butterfly.jpg|opencv__butterfly.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/chicky_512.png|opencv__chicky_512.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/ela_original.jpg|opencv__ela_original.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/fruits.jpg|opencv__fruits.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/graf1.png|opencv__graf1.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/home.jpg|opencv__home.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/left.jpg|opencv__left.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/left01.jpg|opencv__left01.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/leuvenA.jpg|opencv__leuvenA.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/messi5.jpg|opencv__messi5.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/orange.jpg|opencv__orange.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/pca_test1.jpg|opencv__pca_test1.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/rubberwhale1.png|opencv__rubberwhale1.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/squirrel_cls.jpg|opencv__squirrel_cls.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/stuff.jpg|opencv__stuff.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/data/sudoku.png|opencv__sudoku.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/dnn_superres/butterfly.png|opencv__butterfly_superres.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/reg/home.png|opencv__home_reg.png|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext01.jpg|opencv__scenetext01.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext02.jpg|opencv__scenetext02.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext03.jpg|opencv__scenetext03.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext04.jpg|opencv__scenetext04.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext05.jpg|opencv__scenetext05.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext06.jpg|opencv__scenetext06.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext_segmented_word01.jpg|opencv__scenetext_word01.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext_segmented_word02.jpg|opencv__scenetext_word02.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
opencv-doc|${OCV}/text/scenetext_segmented_word04.jpg|opencv__scenetext_word04.jpg|Apache-2.0 AND BSD-3-Clause (OpenCV)
"

command -v apt-get >/dev/null && command -v dpkg >/dev/null \
  || { echo "fetch_photos.sh: needs apt-get and dpkg (a Debian or Ubuntu machine)" >&2; exit 2; }
mkdir -p "${CACHE}/debs" "${CACHE}/unpacked" "${DEST}"

packages="$(printf '%s\n' "${PHOTOS}" | awk -F'|' 'NF >= 4 {print $1}' | sort -u)"
declare -A version
for pkg in ${packages}; do
  deb="$(ls "${CACHE}/debs/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)"
  if [[ -z "${deb}" ]]; then
    echo "fetching ${pkg} (apt-get download)"
    (cd "${CACHE}/debs" && apt-get download -q "${pkg}" >/dev/null) \
      || { echo "fetch_photos.sh: apt-get download ${pkg} failed (run apt-get update first?)" >&2; exit 1; }
    deb="$(ls "${CACHE}/debs/${pkg}"_*.deb | head -n 1)"
  else
    echo "cached   $(basename "${deb}")"
  fi
  version[${pkg}]="$(dpkg-deb -f "${deb}" Version)"
  if [[ ! -f "${CACHE}/unpacked/${pkg}/.done" ]]; then
    rm -rf "${CACHE}/unpacked/${pkg}"
    dpkg -x "${deb}" "${CACHE}/unpacked/${pkg}"
    touch "${CACHE}/unpacked/${pkg}/.done"
  fi
done

copied=0; kept=0; missing=0
tsv="$(mktemp "${DEST}/.SOURCES.XXXXXX")"
printf 'file\tpackage\tversion\tpath\tlicence\n' >"${tsv}"
while IFS='|' read -r pkg path name licence; do
  [[ -z "${pkg}" ]] && continue
  src="${CACHE}/unpacked/${pkg}/${path}"
  if [[ ! -f "${src}" ]]; then
    echo "MISSING  ${pkg} ${version[${pkg}]}: /${path} (the package changed; update the list)" >&2
    missing=$((missing + 1)); continue
  fi
  if cmp -s "${src}" "${DEST}/${name}"; then
    kept=$((kept + 1))
  else
    cp "${src}" "${DEST}/.${name}.tmp" && mv "${DEST}/.${name}.tmp" "${DEST}/${name}"
    copied=$((copied + 1))
  fi
  printf '%s\t%s\t%s\t/%s\t%s\n' "${name}" "${pkg}" "${version[${pkg}]}" "${path}" "${licence}" >>"${tsv}"
done <<<"${PHOTOS}"
mv "${tsv}" "${DEST}/SOURCES.tsv"

echo "photos in ${DEST}: ${copied} copied, ${kept} already there, ${missing} missing"
for pkg in ${packages}; do
  printf '  %-28s %-22s %3d photos\n' "${pkg}" "${version[${pkg}]}" \
    "$(awk -F'\t' -v p="${pkg}" '$2 == p' "${DEST}/SOURCES.tsv" | wc -l)"
done
[[ ${missing} -eq 0 ]] || exit 1
