"""What a local MediaPackage v2 harvest job writes into S3 when it completes: the files of a VOD clip.

Under the job's ``DestinationPath`` (a ``/`` is added when it has none): each HLS and low-latency HLS
manifest as ``<ManifestName>.m3u8``, a multivariant playlist whose one variant is the media playlist
``<ManifestName>_1.m3u8``; each DASH manifest as ``<ManifestName>.mpd``, a static MPD with a segment
timeline. The media playlists and MPDs list segments of 6 seconds covering the window (``.ts`` for a
``TS`` endpoint, ``.mp4`` for ``CMAF``), shared by every manifest as the real harvester deduplicates them;
the segment objects themselves are not written (a day's clip would be 14,400 objects).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from local_aws import iso

SEGMENT_SECONDS = 6


def prefix(destination_path: str) -> str:
    return destination_path if destination_path.endswith("/") else f"{destination_path}/"


def files(job: dict[str, Any], container_type: str) -> dict[str, bytes]:
    """Key and body of every object the job writes, in the order it writes them."""
    folder = prefix(job["Destination"]["S3Destination"]["DestinationPath"])
    start: datetime = job["ScheduleConfiguration"]["StartTime"]
    end: datetime = job["ScheduleConfiguration"]["EndTime"]
    seconds = (end - start).total_seconds()
    count = max(1, math.ceil(seconds / SEGMENT_SECONDS))
    extension = "ts" if container_type == "TS" else "mp4"
    segments = [f"segment_{n}.{extension}" for n in range(1, count + 1)]
    written: dict[str, bytes] = {}
    manifests = job["HarvestedManifests"]
    for kind in ("HlsManifests", "LowLatencyHlsManifests"):
        for manifest in manifests.get(kind) or []:
            name = manifest["ManifestName"]
            written[f"{folder}{name}.m3u8"] = _multivariant(f"{name}_1.m3u8").encode()
            written[f"{folder}{name}_1.m3u8"] = _media_playlist(start, seconds, segments).encode()
    for manifest in manifests.get("DashManifests") or []:
        written[f"{folder}{manifest['ManifestName']}.mpd"] = _mpd(start, seconds, count, extension).encode()
    return written


def _multivariant(media: str) -> str:
    return f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2200000,RESOLUTION=1280x720\n{media}\n"


def _media_playlist(start: datetime, seconds: float, segments: list[str]) -> str:
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS}",
        "#EXT-X-MEDIA-SEQUENCE:1",
    ]
    lines += ["#EXT-X-PLAYLIST-TYPE:VOD", f"#EXT-X-PROGRAM-DATE-TIME:{iso(start)}"]
    for n, segment in enumerate(segments):
        duration = min(SEGMENT_SECONDS, seconds - n * SEGMENT_SECONDS)
        lines += [f"#EXTINF:{duration:.3f},", segment]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def _mpd(start: datetime, seconds: float, count: int, extension: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" '
        f'mediaPresentationDuration="PT{seconds:.3f}S" minBufferTime="PT2S" '
        f'profiles="urn:mpeg:dash:profile:isoff-live:2011" availabilityStartTime="{iso(start)}">\n'
        '  <Period id="1" start="PT0S">\n'
        '    <AdaptationSet mimeType="video/mp4" segmentAlignment="true">\n'
        '      <Representation id="1" bandwidth="2200000" width="1280" height="720" codecs="avc1.64001f">\n'
        f'        <SegmentTemplate timescale="1" media="segment_$Number$.{extension}" startNumber="1">\n'
        f'          <SegmentTimeline><S t="0" d="{SEGMENT_SECONDS}" r="{count - 1}"/></SegmentTimeline>\n'
        "        </SegmentTemplate>\n"
        "      </Representation>\n"
        "    </AdaptationSet>\n"
        "  </Period>\n"
        "</MPD>\n"
    )
