//! Audio decoded in-process to what speech recognition wants: 16 kHz mono `f32`.
//!
//! symphonia reads m4a/AAC, ALAC, WAV, MP3, FLAC and CAF without ffmpeg (a Mac without
//! Homebrew transcribes its Voice Memos); rubato resamples. What symphonia cannot read
//! (opus, webm…) goes through ffmpeg ([`load_16k_mono`]), with its install hint.
use crate::process::{self, RunError};
use crate::voice_memo::error::ItemError;
use std::fs::File;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{self as c, CodecType, DecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, Track};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

/// The sample rate whisper expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// Decoded audio: 16 kHz mono samples in -1..1, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    pub samples: Vec<f32>,
    /// The codec of the track that was decoded (`aac`, `alac`, `pcm`, …; `ffmpeg` when
    /// ffmpeg decoded it).
    pub codec: String,
    /// The index of the decoded track among the file's tracks.
    pub track: usize,
    /// The source's own sample rate.
    pub source_rate: u32,
}

impl Audio {
    pub fn seconds(&self) -> f64 {
        self.samples.len() as f64 / f64::from(SAMPLE_RATE)
    }
}

/// Which track to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackChoice {
    /// The first audio track whose codec can be decoded (a `.qta` may carry a second
    /// audio track in a codec nothing here reads).
    FirstDecodable,
    /// The track at this index among the file's tracks.
    Index(usize),
}

/// Why symphonia could not decode a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The container, or the codec of every audio track, is one symphonia does not read
    /// (ffmpeg may).
    #[error("{0}")]
    Unsupported(String),
    /// The file could not be read, or its audio is damaged.
    #[error("{0}")]
    Failed(String),
}

fn file_label(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

/// The file's audio as 16 kHz mono, from its first decodable audio track.
pub fn decode_16k_mono(path: &Path) -> Result<Audio, DecodeError> {
    decode_track(path, TrackChoice::FirstDecodable)
}

/// A codec's short name for messages.
pub fn codec_name(codec: CodecType) -> String {
    let known = [
        (c::CODEC_TYPE_AAC, "aac"),
        (c::CODEC_TYPE_ALAC, "alac"),
        (c::CODEC_TYPE_FLAC, "flac"),
        (c::CODEC_TYPE_MP3, "mp3"),
        (c::CODEC_TYPE_MP2, "mp2"),
        (c::CODEC_TYPE_MP1, "mp1"),
        (c::CODEC_TYPE_OPUS, "opus"),
        (c::CODEC_TYPE_VORBIS, "vorbis"),
        (c::CODEC_TYPE_SPEEX, "speex"),
        (c::CODEC_TYPE_EAC3, "eac3"),
        (c::CODEC_TYPE_AC4, "ac4"),
        (c::CODEC_TYPE_DCA, "dts"),
        (c::CODEC_TYPE_WMA, "wma"),
        (c::CODEC_TYPE_WAVPACK, "wavpack"),
        (c::CODEC_TYPE_MONKEYS_AUDIO, "ape"),
        (c::CODEC_TYPE_TTA, "tta"),
        (c::CODEC_TYPE_MUSEPACK, "musepack"),
        (c::CODEC_TYPE_ATRAC1, "atrac1"),
        (c::CODEC_TYPE_ATRAC3, "atrac3"),
        (c::CODEC_TYPE_ATRAC3PLUS, "atrac3plus"),
        (c::CODEC_TYPE_ATRAC9, "atrac9"),
        (c::CODEC_TYPE_PCM_ALAW, "pcm_alaw"),
        (c::CODEC_TYPE_PCM_MULAW, "pcm_mulaw"),
    ];
    if let Some((_, n)) = known.iter().find(|(t, _)| *t == codec) {
        return (*n).to_string();
    }
    if codec == c::CODEC_TYPE_NULL {
        return "an unknown codec".into();
    }
    match symphonia::default::get_codecs().get_codec(codec) {
        Some(d) => d.short_name.to_string(),
        None => format!("codec {codec}"),
    }
}

/// Whether a track carries audio (a sample rate or channels; Apple's transcript and
/// chapter tracks carry neither).
fn is_audio(t: &Track) -> bool {
    t.codec_params.sample_rate.is_some() || t.codec_params.channels.is_some()
}

/// Opens the container. `Unsupported`: no reader for it.
fn open(path: &Path) -> Result<Box<dyn FormatReader>, DecodeError> {
    let name = file_label(path);
    let file = File::open(path)
        .map_err(|e| DecodeError::Failed(format!("{name}: cannot open it: {e}")))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
        // Apple's .qta is an MP4 (QuickTime) container.
        hint.with_extension(if ext.eq_ignore_ascii_case("qta") {
            "mov"
        } else {
            ext
        });
    }
    let opts = FormatOptions {
        enable_gapless: true,
        ..FormatOptions::default()
    };
    symphonia::default::get_probe()
        .format(&hint, mss, &opts, &MetadataOptions::default())
        .map(|p| p.format)
        .map_err(|e| match e {
            // No reader recognised it (the probe may read to the end looking).
            SymError::Unsupported(_) => DecodeError::Unsupported(format!(
                "{name}: a container the built-in decoder does not read"
            )),
            SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                DecodeError::Unsupported(format!(
                    "{name}: a container the built-in decoder does not read"
                ))
            }
            SymError::IoError(e) => DecodeError::Failed(format!("{name}: cannot read it: {e}")),
            e => DecodeError::Failed(format!("{name}: not readable audio: {e}")),
        })
}

/// The file's audio as 16 kHz mono, from the chosen track.
pub fn decode_track(path: &Path, choice: TrackChoice) -> Result<Audio, DecodeError> {
    let name = file_label(path);
    let mut format = open(path)?;
    let registry = symphonia::default::get_codecs();
    let dopts = DecoderOptions::default();
    let tracks: Vec<Track> = format.tracks().to_vec();
    let (index, track, decoder) = match choice {
        TrackChoice::Index(i) => {
            let t = tracks.get(i).ok_or_else(|| {
                DecodeError::Failed(format!(
                    "{name}: has no track {i} ({} tracks)",
                    tracks.len()
                ))
            })?;
            let d = registry.make(&t.codec_params, &dopts).map_err(|_| {
                DecodeError::Unsupported(format!(
                    "{name}: track {i} is in {}, which the built-in decoder does not read",
                    codec_name(t.codec_params.codec)
                ))
            })?;
            (i, t.clone(), d)
        }
        TrackChoice::FirstDecodable => {
            let audio: Vec<(usize, &Track)> = tracks
                .iter()
                .enumerate()
                .filter(|(_, t)| is_audio(t))
                .collect();
            let found = audio.iter().find_map(|(i, t)| {
                registry
                    .make(&t.codec_params, &dopts)
                    .ok()
                    .map(|d| (*i, (*t).clone(), d))
            });
            match found {
                Some(f) => f,
                None if audio.is_empty() => {
                    return Err(DecodeError::Unsupported(format!(
                        "{name}: has no audio track the built-in decoder recognises"
                    )));
                }
                None => {
                    let codecs: Vec<String> = audio
                        .iter()
                        .map(|(_, t)| codec_name(t.codec_params.codec))
                        .collect();
                    return Err(DecodeError::Unsupported(format!(
                        "{name}: its audio is in {}, which the built-in decoder does not read",
                        codecs.join(", ")
                    )));
                }
            }
        }
    };
    let codec = codec_name(track.codec_params.codec);
    let mut decoder = decoder;
    let mut mono: Vec<f32> = Vec::new();
    let mut rate = track.codec_params.sample_rate.unwrap_or(0);
    let mut buf: Option<SampleBuffer<f32>> = None;
    let mut bad_packets = 0usize;
    let mut good_packets = 0usize;
    loop {
        let packet = match format.next_packet() {
            Ok(p) => p,
            Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(SymError::ResetRequired) => break,
            Err(e) if good_packets > 0 => {
                // A truncated tail (a recording cut off mid-write): keep what decoded.
                tracing::debug!(file = %name, error = %e, "stopped reading at a damaged packet");
                break;
            }
            Err(e) => {
                return Err(DecodeError::Failed(format!(
                    "{name}: cannot read its audio: {e}"
                )));
            }
        };
        if packet.track_id() != track.id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(d) => d,
            Err(SymError::DecodeError(e)) => {
                bad_packets += 1;
                tracing::debug!(file = %name, error = e, "skipped an undecodable packet");
                continue;
            }
            Err(SymError::IoError(_)) => {
                bad_packets += 1;
                continue;
            }
            Err(e) => {
                return Err(DecodeError::Failed(format!(
                    "{name}: decoding {codec}: {e}"
                )));
            }
        };
        good_packets += 1;
        let spec = *decoded.spec();
        rate = spec.rate;
        let channels = spec.channels.count().max(1);
        let needed = decoded.capacity() as u64;
        let sb = match &mut buf {
            Some(b) if b.capacity() as u64 >= needed * channels as u64 => b,
            _ => buf.insert(SampleBuffer::<f32>::new(needed, spec)),
        };
        sb.copy_interleaved_ref(decoded);
        downmix_into(sb.samples(), channels, &mut mono);
    }
    if good_packets == 0 && bad_packets > 0 {
        return Err(DecodeError::Failed(format!(
            "{name}: none of its {codec} audio could be decoded ({bad_packets} damaged packets)"
        )));
    }
    if rate == 0 && !mono.is_empty() {
        return Err(DecodeError::Failed(format!(
            "{name}: its audio has no sample rate"
        )));
    }
    let samples = resample(&mono, rate, SAMPLE_RATE)
        .map_err(|e| DecodeError::Failed(format!("{name}: resampling {rate} Hz to 16 kHz: {e}")))?;
    Ok(Audio {
        samples,
        codec,
        track: index,
        source_rate: rate,
    })
}

/// Appends the average of each frame's channels.
fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    if channels == 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|f| f.iter().sum::<f32>() * scale),
    );
}

/// Resamples mono `input` from `from` Hz to `to` Hz with a windowed-sinc filter
/// (rubato), compensating its delay so the output lines up with the input.
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, String> {
    use rubato::{
        Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction,
    };
    if from == to || input.is_empty() {
        return Ok(input.to_vec());
    }
    let ratio = f64::from(to) / f64::from(from);
    let params = SincInterpolationParameters {
        sinc_len: 128,
        f_cutoff: 0.925,
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    const CHUNK: usize = 4096;
    let mut r = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1).map_err(|e| e.to_string())?;
    let expected = (input.len() as f64 * ratio).round() as usize;
    let delay = r.output_delay();
    let mut out: Vec<f32> = Vec::with_capacity(expected + delay + CHUNK);
    let mut pos = 0;
    while input.len() - pos >= CHUNK {
        let frames = r
            .process(&[&input[pos..pos + CHUNK]], None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&frames[0]);
        pos += CHUNK;
    }
    if pos < input.len() {
        let frames = r
            .process_partial(Some(&[&input[pos..]]), None)
            .map_err(|e| e.to_string())?;
        out.extend_from_slice(&frames[0]);
    }
    // Flush the filter until the delayed tail is out.
    while out.len() < expected + delay {
        let frames = r
            .process_partial::<&[f32]>(None, None)
            .map_err(|e| e.to_string())?;
        if frames[0].is_empty() {
            break;
        }
        out.extend_from_slice(&frames[0]);
    }
    let end = (delay + expected).min(out.len());
    Ok(out[delay.min(end)..end].to_vec())
}

/// How long ffmpeg may take to decode a file.
const FFMPEG_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// 16 kHz mono audio: decoded in-process, or by ffmpeg when the built-in decoder cannot
/// read the file (opus, webm…). A file neither can read is a transient error naming
/// both reasons (with how to install ffmpeg when it is missing).
pub fn load_16k_mono(path: &Path) -> Result<Audio, ItemError> {
    // An MP4/QuickTime file (a .qta above all) lists its sound tracks' codecs: with
    // none that anything here decodes, say which codec it is; otherwise ffmpeg, when
    // it is the fallback, is told which audio stream to take.
    let stream = check_decodable(path)?;
    let own = match decode_16k_mono(path) {
        Ok(a) => return Ok(a),
        Err(e) => e,
    };
    tracing::debug!(file = %file_label(path), reason = %own, stream, "decoding with ffmpeg instead");
    ffmpeg_stream_16k_mono(path, stream).map_err(|ff| {
        ItemError::transient(format!("{own}; ffmpeg could not decode it either: {ff}"))
    })
}

/// For an MP4/QuickTime file (a .qta above all), the index of the first audio stream
/// in a codec something here decodes (ffmpeg's `0:a:N`); a permanent error naming the
/// codec when no sound track is (only APAC); 0 for anything else. Reads only the
/// `moov` box, so it is cheap enough to ask before a speech model is loaded.
pub fn check_decodable(path: &Path) -> Result<usize, ItemError> {
    let tracks = crate::voice_memo::qta::sound_tracks(path)
        .ok()
        .flatten()
        .unwrap_or_default();
    match tracks.iter().find(|t| t.decodable()) {
        Some(t) => Ok(t.audio_index),
        None if !tracks.is_empty() => {
            let codecs: Vec<String> = tracks.iter().map(|t| t.codec_label()).collect();
            Err(ItemError::permanent(format!(
                "{}: its only audio is in {}, which neither the built-in decoder nor ffmpeg can decode; the file was left untouched (export the memo from Voice Memos as .m4a, or let Voice Memos transcribe it)",
                file_label(path),
                codecs.join(" and ")
            )))
        }
        None => Ok(0),
    }
}

/// ffmpeg's decoding of the first audio stream as 16 kHz mono `f32`.
pub fn ffmpeg_16k_mono(path: &Path) -> Result<Audio, String> {
    ffmpeg_stream_16k_mono(path, 0)
}

/// ffmpeg's decoding of audio stream `stream` (`-map 0:a:N`) as 16 kHz mono `f32`.
pub fn ffmpeg_stream_16k_mono(path: &Path, stream: usize) -> Result<Audio, String> {
    let mut cmd = Command::new("ffmpeg");
    let map = format!("0:a:{stream}");
    cmd.args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-vn", "-map", &map])
        .args(["-ac", "1", "-ar", "16000", "-f", "f32le", "-"]);
    let o = process::run(&mut cmd, FFMPEG_TIMEOUT).map_err(|e: RunError| e.to_string())?;
    if !o.status.success() {
        return Err(format!(
            "ffmpeg failed ({}): {}",
            o.status,
            o.stderr_tail(300)
        ));
    }
    let samples = o
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(Audio {
        samples,
        codec: "ffmpeg".into(),
        track: 0,
        source_rate: SAMPLE_RATE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ffmpeg(args: &[&str]) {
        let ok = Command::new("ffmpeg")
            .args(["-nostdin", "-loglevel", "error", "-y"])
            .args(args)
            .status()
            .unwrap();
        assert!(ok.success(), "ffmpeg {args:?}");
    }

    /// A 440 Hz tone for 1 s, then 1 s of silence, at 44.1 kHz stereo, as `name`.
    fn tone(dir: &Path, name: &str, codec: &[&str]) -> std::path::PathBuf {
        let out = dir.join(name);
        let mut args = vec![
            "-f",
            "lavfi",
            "-i",
            "sine=f=440:d=1:sample_rate=44100,apad=pad_dur=1",
            "-ac",
            "2",
        ];
        args.extend_from_slice(codec);
        args.push(out.to_str().unwrap());
        ffmpeg(&args);
        out
    }

    fn rms(s: &[f32]) -> f32 {
        (s.iter().map(|x| x * x).sum::<f32>() / s.len().max(1) as f32).sqrt()
    }

    /// The dominant frequency near 440 Hz by zero crossings.
    fn crossings_hz(s: &[f32]) -> f32 {
        let n = s.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        n as f32 / (s.len() as f32 / SAMPLE_RATE as f32)
    }

    fn check(a: &Audio) {
        let secs = a.seconds();
        assert!((1.9..=2.15).contains(&secs), "{secs} s");
        let tone = &a.samples[1600..14_400];
        let quiet = &a.samples[17_600..30_000];
        // lavfi's sine has amplitude 1/8 (RMS 0.088).
        assert!(rms(tone) > 0.05, "tone rms {}", rms(tone));
        assert!(rms(quiet) < 0.01, "silence rms {}", rms(quiet));
        let hz = crossings_hz(tone);
        assert!((430.0..=450.0).contains(&hz), "{hz} Hz");
    }

    #[test]
    fn decodes_the_voice_memo_formats_to_16k_mono() {
        let dir = tempfile::tempdir().unwrap();
        for (name, codec, expect) in [
            ("a.m4a", &["-c:a", "aac", "-b:a", "96k"][..], "aac"),
            ("b.m4a", &["-c:a", "alac"][..], "alac"),
            ("c.wav", &["-c:a", "pcm_s16le"][..], "pcm_s16le"),
            ("d.mp3", &["-c:a", "libmp3lame", "-b:a", "128k"][..], "mp3"),
            ("e.flac", &[][..], "flac"),
            ("f.caf", &["-c:a", "pcm_s16le"][..], "pcm_s16le"),
        ] {
            let p = tone(dir.path(), name, codec);
            let a = decode_16k_mono(&p).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(a.source_rate, 44_100, "{name}");
            assert!(
                a.codec.starts_with(expect.split('_').next().unwrap()),
                "{name}: {}",
                a.codec
            );
            check(&a);
        }
    }

    #[test]
    fn opus_falls_back_to_ffmpeg() {
        let dir = tempfile::tempdir().unwrap();
        let p = tone(dir.path(), "a.opus", &["-c:a", "libopus", "-ar", "48000"]);
        let e = decode_16k_mono(&p).unwrap_err();
        assert!(matches!(e, DecodeError::Unsupported(_)), "{e}");
        let a = load_16k_mono(&p).unwrap();
        assert_eq!(a.codec, "ffmpeg");
        check(&a);
    }

    #[test]
    fn picks_the_first_decodable_audio_track() {
        let dir = tempfile::tempdir().unwrap();
        let opus = tone(
            dir.path(),
            "o.mp4",
            &["-c:a", "libopus", "-ar", "48000", "-strict", "-2"],
        );
        let aac = tone(dir.path(), "a.m4a", &["-c:a", "aac"]);
        // Track 0: opus (not decodable here), track 1: AAC.
        let both = dir.path().join("both.mp4");
        ffmpeg(&[
            "-i",
            opus.to_str().unwrap(),
            "-i",
            aac.to_str().unwrap(),
            "-map",
            "0:a",
            "-map",
            "1:a",
            "-c",
            "copy",
            "-strict",
            "-2",
            both.to_str().unwrap(),
        ]);
        let a = decode_16k_mono(&both).unwrap();
        assert_eq!((a.track, a.codec.as_str()), (1, "aac"));
        check(&a);
        let e = decode_track(&both, TrackChoice::Index(0)).unwrap_err();
        assert!(e.to_string().contains("opus"), "{e}");
        let e = decode_16k_mono(&opus).unwrap_err();
        assert!(
            e.to_string().contains("its audio is in opus"),
            "the codec is named: {e}"
        );
    }

    #[test]
    fn not_audio_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.m4a");
        std::fs::write(&p, b"this is not audio at all, just text").unwrap();
        let e = decode_16k_mono(&p).unwrap_err();
        assert!(e.to_string().starts_with("x.m4a: "), "{e}");
    }

    #[test]
    fn resampling_keeps_length_and_pitch() {
        let from = 48_000;
        let input: Vec<f32> = (0..from * 2)
            .map(|i| (i as f32 * 2.0 * std::f32::consts::PI * 1000.0 / from as f32).sin() * 0.5)
            .collect();
        let out = resample(&input, from, SAMPLE_RATE).unwrap();
        assert_eq!(out.len(), 32_000);
        let hz = crossings_hz(&out[1000..31_000]);
        assert!((995.0..=1005.0).contains(&hz), "{hz}");
        // Aligned within half a millisecond: the sine starts at 0 going up, so its
        // next upward zero crossing is one period (16 samples) in.
        let up = (1..40)
            .find(|&i| out[i - 1] < 0.0 && out[i] >= 0.0)
            .unwrap();
        assert!((8..=24).contains(&up), "{up}: {:?}", &out[..20]);
        assert_eq!(resample(&input[..10], 16_000, 16_000).unwrap().len(), 10);
    }
}
