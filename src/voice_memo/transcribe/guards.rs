//! Quality guards on whisper's output. Whisper invents text over silence ("Thank you
//! for watching.") and can loop on one phrase; these guards drop segments that are
//! probably not speech and collapse runaway repetitions. Pure functions, so they are
//! tested on their own.

/// One recognised segment before the guards, with what they judge it by.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// Whisper's probability that the window holds no speech.
    pub no_speech: f32,
    /// Mean log-probability of the segment's text tokens.
    pub avg_logprob: f32,
    /// The loudness of the audio under the segment, in dBFS (RMS).
    pub rms_db: f32,
}

/// Audio quieter than this (RMS, dBFS) holds no speech a memo cares about.
pub const SILENCE_DB: f32 = -50.0;
/// Above this no-speech probability a segment is dropped outright…
const NO_SPEECH_SURE: f32 = 0.8;
/// …and above this one when whisper was also unsure of its words (whisper's own rule).
const NO_SPEECH_LIKELY: f32 = 0.5;
const LOW_LOGPROB: f32 = -1.0;
/// A phrase said more than this many times in a row is a loop, not speech.
const MAX_REPEATS: usize = 2;

/// What the guards dropped, for the log and the closing report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Segments over audio quieter than [`SILENCE_DB`].
    pub silent: usize,
    /// Segments whisper judged to be no speech.
    pub no_speech: usize,
    /// Words removed from runaway repetitions (in a segment or across segments).
    pub repeated_words: usize,
    /// Whole segments that repeated the one before them.
    pub repeated_segments: usize,
}

impl Dropped {
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }
}

/// RMS loudness of `samples` in dBFS (`-inf`-safe: at most -120).
pub fn rms_db(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return -120.0;
    }
    let mean = samples.iter().map(|s| s * s).sum::<f32>() / samples.len() as f32;
    (10.0 * mean.max(1e-12).log10()).max(-120.0)
}

/// Whether the loudest 100 ms of the audio is still below [`SILENCE_DB`]: nothing was
/// said (whisper is not asked; the memo goes to the discard path).
pub fn is_silence(samples: &[f32], rate: u32) -> bool {
    let window = (rate as usize / 10).max(1);
    samples.chunks(window).map(rms_db).fold(-120.0f32, f32::max) < SILENCE_DB
}

/// The stretches of `samples` that may hold speech (louder than [`SILENCE_DB`] in
/// 30 ms frames), as sample ranges: gaps shorter than 2 s are bridged and each stretch
/// is padded by 0.4 s. Whisper is run on these only: over long silences it invents
/// text and, retrying at higher temperatures, spends minutes on nothing.
pub fn speech_regions(samples: &[f32], rate: u32) -> Vec<std::ops::Range<usize>> {
    let frame = (rate as usize * 3 / 100).max(1);
    let bridge = rate as usize * 2;
    let pad = rate as usize * 4 / 10;
    let mut regions: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, chunk) in samples.chunks(frame).enumerate() {
        if rms_db(chunk) < SILENCE_DB {
            continue;
        }
        let (a, b) = (i * frame, (i * frame + chunk.len()).min(samples.len()));
        match regions.last_mut() {
            Some(r) if a <= r.end + bridge => r.end = b,
            _ => regions.push(a..b),
        }
    }
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for r in regions {
        let padded = r.start.saturating_sub(pad)..(r.end + pad).min(samples.len());
        match out.last_mut() {
            Some(prev) if padded.start <= prev.end => prev.end = padded.end,
            _ => out.push(padded),
        }
    }
    out
}

/// Applies the guards; returns the kept segments (text collapsed) and what was dropped.
pub fn apply(raw: Vec<RawSegment>) -> (Vec<RawSegment>, Dropped) {
    let mut dropped = Dropped::default();
    let mut kept: Vec<RawSegment> = Vec::new();
    for mut s in raw {
        if s.text.trim().is_empty() {
            continue;
        }
        if s.rms_db < SILENCE_DB {
            dropped.silent += 1;
            continue;
        }
        if s.no_speech > NO_SPEECH_SURE
            || (s.no_speech > NO_SPEECH_LIKELY && s.avg_logprob < LOW_LOGPROB)
        {
            dropped.no_speech += 1;
            continue;
        }
        let (text, removed) = collapse_repeats(&s.text);
        dropped.repeated_words += removed;
        s.text = text;
        if let Some(prev) = kept.last()
            && normalise(&prev.text) == normalise(&s.text)
        {
            // The same sentence again, a loop over the next window: keep the first.
            let run = kept
                .iter()
                .rev()
                .take_while(|k| normalise(&k.text) == normalise(&s.text))
                .count();
            if run >= MAX_REPEATS {
                dropped.repeated_segments += 1;
                continue;
            }
        }
        kept.push(s);
    }
    (kept, dropped)
}

fn normalise(text: &str) -> String {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Collapses a phrase of 1–8 words repeated more than [`MAX_REPEATS`] times in a row
/// to [`MAX_REPEATS`] occurrences. Returns the text and how many words went.
pub fn collapse_repeats(text: &str) -> (String, usize) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let keys: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .collect();
    let mut out: Vec<&str> = Vec::with_capacity(words.len());
    let mut removed = 0;
    let mut i = 0;
    'outer: while i < words.len() {
        for n in 1..=8usize {
            if i + n * (MAX_REPEATS + 1) > words.len() {
                break;
            }
            let phrase = &keys[i..i + n];
            if phrase.iter().all(|k| k.is_empty()) {
                continue;
            }
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len()
                && keys[i + reps * n..i + (reps + 1) * n] == *phrase
            {
                reps += 1;
            }
            if reps > MAX_REPEATS {
                out.extend_from_slice(&words[i..i + n * MAX_REPEATS]);
                removed += n * (reps - MAX_REPEATS);
                i += n * reps;
                continue 'outer;
            }
        }
        out.push(words[i]);
        i += 1;
    }
    (out.join(" "), removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(text: &str, no_speech: f32, avg_logprob: f32, rms_db: f32) -> RawSegment {
        RawSegment {
            start_ms: 0,
            end_ms: 1000,
            text: text.into(),
            no_speech,
            avg_logprob,
            rms_db,
        }
    }

    #[test]
    fn drops_what_is_not_speech() {
        let (kept, d) = apply(vec![
            seg("Remind me to call the dentist.", 0.02, -0.3, -20.0),
            seg("Thank you for watching.", 0.1, -0.4, -70.0),
            seg("Bye.", 0.9, -0.2, -30.0),
            seg("Hmm.", 0.6, -1.5, -30.0),
            seg("I need to buy milk.", 0.55, -0.4, -22.0),
        ]);
        let texts: Vec<_> = kept.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Remind me to call the dentist.", "I need to buy milk."]
        );
        assert_eq!((d.silent, d.no_speech), (1, 2));
    }

    #[test]
    fn collapses_runaway_repetitions() {
        assert_eq!(
            collapse_repeats("buy milk buy milk buy milk buy milk and eggs"),
            ("buy milk buy milk and eggs".into(), 4)
        );
        assert_eq!(
            collapse_repeats("no, no, no, no, no. fine"),
            ("no, no, fine".into(), 3)
        );
        assert_eq!(
            collapse_repeats("that that is fine"),
            ("that that is fine".into(), 0)
        );
        let (kept, d) = apply(vec![
            seg("Thank you.", 0.1, -0.3, -20.0),
            seg("Thank you.", 0.1, -0.3, -20.0),
            seg("thank you", 0.1, -0.3, -20.0),
            seg("Thank you.", 0.1, -0.3, -20.0),
        ]);
        assert_eq!(kept.len(), 2);
        assert_eq!(d.repeated_segments, 2);
    }

    #[test]
    fn speech_regions_skip_long_silences_only() {
        let rate = 16_000usize;
        let mut s = vec![0.0f32; rate * 60];
        let mut speak = |from: f32, to: f32| {
            for (i, x) in s[(from * rate as f32) as usize..(to * rate as f32) as usize]
                .iter_mut()
                .enumerate()
            {
                *x = (i as f32 * 0.07).sin() * 0.2;
            }
        };
        speak(1.0, 3.0);
        speak(4.0, 5.0); // a 1 s pause: the same stretch
        speak(40.0, 42.0);
        let r = speech_regions(&s, rate as u32);
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(
            (0.55..=0.65).contains(&(r[0].start as f32 / rate as f32)),
            "{r:?}"
        );
        assert!(
            (5.35..=5.45).contains(&(r[0].end as f32 / rate as f32)),
            "{r:?}"
        );
        assert!(
            (39.55..=39.65).contains(&(r[1].start as f32 / rate as f32)),
            "{r:?}"
        );
        assert!(speech_regions(&vec![0.0; rate], rate as u32).is_empty());
    }

    #[test]
    fn silence_is_detected_by_its_loudest_moment() {
        let rate = 16_000;
        let quiet = vec![0.0005f32; rate as usize * 3];
        assert!(is_silence(&quiet, rate));
        let mut blip = quiet.clone();
        for (i, s) in blip[20_000..22_000].iter_mut().enumerate() {
            *s = (i as f32 * 0.2).sin() * 0.3;
        }
        assert!(!is_silence(&blip, rate));
        assert!(is_silence(&[], rate));
        assert!((rms_db(&[0.5; 100]) + 6.02).abs() < 0.1);
    }
}
