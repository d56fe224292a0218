//! The offline `extractive` summarizer: TextRank over TF-IDF sentence similarity picks
//! the day's most representative sentences; a small lexicon gives the mood.
//!
//! It writes nothing new: every summary sentence and insight is one of the user's own
//! sentences, kept in the order they were said. Themes are the content words (and
//! repeated two-word phrases) that come up most often across the most entries.
use super::model::{Day, DaySummary, Mood, Summarizer};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// Words too common to say anything about a day.
const STOP_WORDS: &str = "a about above after again against all am an and any are aren't as at \
    be because been before being below between both but by can can't cannot could couldn't did \
    didn't do does doesn't doing don't down during each few for from further had hadn't has \
    hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his \
    how how's i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most \
    mustn't my myself no nor not of off on once only or other ought our ours ourselves out over \
    own same shan't she she'd she'll she's should shouldn't so some such than that that's the \
    their theirs them themselves then there there's these they they'd they'll they're they've \
    this those through to too under until up very was wasn't we we'd we'll we're we've were \
    weren't what what's when when's where where's which while who who's whom why why's with \
    won't would wouldn't you you'd you'll you're you've your yours yourself yourselves \
    just also really actually maybe kind sort um uh like yeah okay ok oh well anyway got get \
    gets getting lot lots bit thing things stuff much many";
/// Words that are not stop words for similarity but say little as a theme: common
/// verbs, time words, vague nouns and adjectives.
const NOT_THEMES: &str = "today yesterday tomorrow tonight morning afternoon evening night \
    day days week weeks time times minute minutes hour hours year month now later still even \
    ever way something anything everything nothing someone everyone feel feels felt feeling \
    think thought know knew want wanted need needed make made go going went gone come came \
    take took say said tell told see saw look looked try tried start started keep kept \
    let put give gave find found seem seemed first last next new old big small long little \
    whole able sure though since back around again another every pretty quite almost enough \
    probably definitely literally realized realised learned learnt noticed decided remember \
    should want hope glad done finally right left good bad better worse best worst \
    monday tuesday wednesday thursday friday saturday sunday weekend";
/// A negation flips the mood word up to this many words after it.
const NEGATORS: &str = "not no never hardly barely nothing without nobody neither nor cannot";
const NEGATION_WINDOW: usize = 3;
/// Mood words by weight: +2 strongly positive … -2 strongly negative; 0 counts as a
/// neutral mood word ("okay").
const MOOD_WORDS: &[(i32, &str)] = &[
    (
        2,
        "great amazing awesome fantastic wonderful excited exciting thrilled incredible \
         perfect love loved joy joyful delighted brilliant ecstatic elated excellent best",
    ),
    (
        1,
        "good happy grateful thankful glad proud relaxed calm productive nice enjoyed enjoy \
         fun peaceful rested hopeful content pleased better energized energised satisfied \
         confident motivated accomplished laughed smiled lovely cheerful refreshed relieved",
    ),
    (0, "okay ok fine meh alright"),
    (
        -1,
        "tired sad lonely bored exhausted drained annoyed disappointed worse sick sore nervous \
         stuck struggled struggling difficult lazy distracted unmotivated restless grumpy \
         sleepy irritated tense rough",
    ),
    (
        -2,
        "bad stressed stressful anxious frustrated frustrating angry upset awful terrible \
         horrible miserable overwhelmed worried depressed hate hated panic furious devastated \
         worst cried crying hopeless",
    ),
];
/// Phrases that mark a sentence as an insight.
const INSIGHT_CUES: &[&str] = &[
    "i realized",
    "i realised",
    "i learned",
    "i learnt",
    "i noticed",
    "next time",
    "i want to",
    "i should",
    "i've decided",
    "i decided",
    "lesson",
    "turns out",
    "i figured out",
    "note to self",
    "i discovered",
    "going forward",
];
const ABBREVIATIONS: &str = "mr mrs ms dr st vs etc e.g i.e a.m p.m jr sr prof approx";
const MAX_THEMES: usize = 5;
const MAX_INSIGHTS: usize = 3;
/// Two summary sentences more alike than this: the second says nothing new.
const REDUNDANT: f64 = 0.5;
const DAMPING: f64 = 0.85;

/// The offline summarizer (`summary_provider = "extractive"`).
#[derive(Debug, Default, Clone, Copy)]
pub struct Extractive;

impl Summarizer for Extractive {
    fn name(&self) -> &'static str {
        "extractive"
    }

    fn summarize(&self, day: &Day) -> Result<DaySummary> {
        let texts: Vec<&str> = day.entries.iter().map(|e| e.text.as_str()).collect();
        Ok(summarize_texts(&texts))
    }
}

/// One sentence of the day.
#[derive(Debug, Clone)]
struct Sentence {
    text: String,
    /// Which entry it came from.
    entry: usize,
    /// Every word as written, apostrophes normalised.
    raw: Vec<String>,
    /// The same words, lowercased.
    words: Vec<String>,
    /// Stems of the content words (stop words removed).
    terms: Vec<String>,
}

/// The whole extractive pass over a day's entry texts.
pub fn summarize_texts(entries: &[&str]) -> DaySummary {
    let sentences: Vec<Sentence> = entries
        .iter()
        .enumerate()
        .flat_map(|(i, t)| split_sentences(t).into_iter().map(move |s| (i, s)))
        .map(|(i, s)| Sentence::new(s, i))
        .collect();
    let vectors = tfidf(&sentences);
    let ranked = rank(&sentences, &vectors);
    let chosen = choose(&ranked, &vectors, summary_length(sentences.len()));
    let mut summary = chosen
        .iter()
        .map(|&i| finish(&sentences[i].text))
        .collect::<Vec<_>>()
        .join(" ");
    if summary.is_empty() {
        summary = "(The entries have no sentences to summarise.)".into();
    }
    DaySummary {
        summary,
        mood: mood(&sentences),
        themes: themes(&sentences),
        insights: insights(&sentences, &ranked, &chosen),
        attribution: "Extractive summary: the day's most representative sentences, picked offline from your entries.".into(),
    }
}

impl Sentence {
    fn new(text: String, entry: usize) -> Sentence {
        let raw = raw_words(&text);
        let words: Vec<String> = raw.iter().map(|w| w.to_lowercase()).collect();
        let terms = words
            .iter()
            .filter(|w| is_content(w))
            .map(|w| stem(w))
            .collect();
        Sentence {
            text,
            entry,
            raw,
            words,
            terms,
        }
    }
}

/// 1 sentence for a short day, 2 for a medium one, 3 for a long one.
fn summary_length(sentences: usize) -> usize {
    match sentences {
        0 => 0,
        1..=4 => 1,
        5..=9 => 2,
        _ => 3,
    }
}

// ---------------------------------------------------------------- text

/// Splits text into sentences: at `.`, `!`, `?` before a space and a capital (not
/// after an abbreviation), and at line breaks. List markers are dropped.
pub fn split_sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line
            .trim()
            .trim_start_matches(['-', '*', '>'])
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches(['.', ')'])
            .trim();
        if line.is_empty() || line.starts_with("<!--") {
            continue;
        }
        split_line(line, &mut out);
    }
    out
}

fn split_line(line: &str, out: &mut Vec<String>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut start = 0;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let next = chars.get(k + 1).map(|&(_, c)| c);
        let after = chars.get(k + 2).map(|&(_, c)| c);
        let ends = next.is_some_and(char::is_whitespace)
            && after
                .is_some_and(|a| a.is_uppercase() || a.is_ascii_digit() || "\"'“‘(".contains(a));
        if ends && !is_abbreviation(&line[start..i]) {
            push_sentence(&line[start..=i], out);
            start = i + 1;
        }
    }
    push_sentence(&line[start..], out);
}

fn push_sentence(s: &str, out: &mut Vec<String>) {
    let s = s.trim();
    if s.chars().any(char::is_alphabetic) {
        out.push(s.to_string());
    }
}

fn is_abbreviation(before: &str) -> bool {
    let last = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .to_lowercase();
    listed(ABBREVIATIONS, &last) || (last.len() == 1 && last.chars().all(char::is_alphabetic))
}

/// The words of a sentence as written, with `’` as `'`.
fn raw_words(s: &str) -> Vec<String> {
    s.replace(['’', '‘'], "'")
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(['\'', '-']))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn is_content(w: &str) -> bool {
    w.chars().count() > 1 && w.chars().any(char::is_alphabetic) && !listed(STOP_WORDS, w)
}

/// A light suffix stemmer: plurals, `-ing`, `-ed` (with the doubled consonant undone),
/// so "runs" and "running" → "run", "stories" → "story", "meetings" → "meet".
pub fn stem(word: &str) -> String {
    let w = word.trim_end_matches("'s");
    let w = plural(w);
    for suffix in ["ing", "ed"] {
        if let Some(base) = w.strip_suffix(suffix)
            && base.chars().count() >= 3
            && base.chars().any(|c| "aeiouy".contains(c))
        {
            return undouble(base);
        }
    }
    w
}

fn plural(w: &str) -> String {
    if w.chars().count() <= 3 || w.ends_with("ss") || w.ends_with("us") || w.ends_with("is") {
        return w.to_string();
    }
    if let Some(base) = w.strip_suffix("ies") {
        return format!("{base}y");
    }
    w.strip_suffix('s').unwrap_or(w).to_string()
}

fn undouble(base: &str) -> String {
    let b: Vec<char> = base.chars().collect();
    match b.as_slice() {
        [.., x, y] if x == y && !"lsz".contains(*x) && !"aeiou".contains(*x) => {
            b[..b.len() - 1].iter().collect()
        }
        _ => base.to_string(),
    }
}

/// A sentence with its final punctuation.
fn finish(s: &str) -> String {
    let s = s.trim();
    if s.ends_with(['.', '!', '?', '…', '"', '”']) {
        s.to_string()
    } else {
        format!("{s}.")
    }
}

// ---------------------------------------------------------------- ranking

/// A sentence's TF-IDF weights by term (ordered, so sums are the same on every run).
type Vector<'a> = BTreeMap<&'a str, f64>;

/// TF-IDF vectors (sentences as documents), as term → weight maps.
fn tfidf(sentences: &[Sentence]) -> Vec<Vector<'_>> {
    let n = sentences.len() as f64;
    let mut df: Vector<'_> = BTreeMap::new();
    for s in sentences {
        let unique: BTreeSet<&str> = s.terms.iter().map(String::as_str).collect();
        for t in unique {
            *df.entry(t).or_default() += 1.0;
        }
    }
    sentences
        .iter()
        .map(|s| {
            let mut v: Vector<'_> = BTreeMap::new();
            for t in &s.terms {
                *v.entry(t.as_str()).or_default() += 1.0;
            }
            for (t, w) in v.iter_mut() {
                *w *= (1.0 + n / df[t]).ln();
            }
            v
        })
        .collect()
}

fn cosine(a: &Vector<'_>, b: &Vector<'_>) -> f64 {
    let dot: f64 = a.iter().filter_map(|(t, x)| b.get(t).map(|y| x * y)).sum();
    let norm = |v: &Vector<'_>| v.values().map(|x| x * x).sum::<f64>().sqrt();
    let d = norm(a) * norm(b);
    if d == 0.0 { 0.0 } else { dot / d }
}

/// TextRank's similarity: the shared terms (weighted by TF-IDF) over the sum of the
/// sentences' log lengths, so a long sentence is not favoured for its length alone.
fn overlap(a: &Vector<'_>, b: &Vector<'_>) -> f64 {
    let shared: f64 = a
        .iter()
        .filter_map(|(t, x)| b.get(t).map(|y| x.min(*y)))
        .sum();
    let len = |v: &Vector<'_>| (1.0 + v.len() as f64).ln();
    shared / (len(a) + len(b))
}

/// Sentence indices, most representative first: TextRank (PageRank over the cosine
/// similarity graph), damped for sentences with fewer than four content words; ties
/// go to the earlier sentence.
fn rank(sentences: &[Sentence], vectors: &[Vector<'_>]) -> Vec<usize> {
    let scores = textrank(vectors);
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    let weight = |i: usize| scores[i] * (sentences[i].terms.len() as f64 / 4.0).min(1.0);
    order.sort_by(|&a, &b| weight(b).total_cmp(&weight(a)).then(a.cmp(&b)));
    order
}

/// PageRank scores over the weighted similarity graph.
fn textrank(vectors: &[Vector<'_>]) -> Vec<f64> {
    let n = vectors.len();
    if n == 0 {
        return Vec::new();
    }
    let sim: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    if i == j {
                        0.0
                    } else {
                        overlap(&vectors[i], &vectors[j])
                    }
                })
                .collect()
        })
        .collect();
    let out_weight: Vec<f64> = sim.iter().map(|row| row.iter().sum()).collect();
    let base = (1.0 - DAMPING) / n as f64;
    let mut score = vec![1.0 / n as f64; n];
    for _ in 0..100 {
        let next: Vec<f64> = (0..n)
            .map(|i| {
                let inflow: f64 = (0..n)
                    .filter(|&j| out_weight[j] > 0.0)
                    .map(|j| sim[j][i] / out_weight[j] * score[j])
                    .sum();
                base + DAMPING * inflow
            })
            .collect();
        let delta: f64 = next.iter().zip(&score).map(|(a, b)| (a - b).abs()).sum();
        score = next;
        if delta < 1e-10 {
            break;
        }
    }
    score
}

/// The top `k` ranked sentences, skipping near-repeats of one already chosen, in the
/// order they were said.
fn choose(ranked: &[usize], vectors: &[Vector<'_>], k: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::new();
    for &i in ranked {
        if chosen.len() == k {
            break;
        }
        if chosen
            .iter()
            .all(|&c| cosine(&vectors[c], &vectors[i]) <= REDUNDANT)
        {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen
}

// ---------------------------------------------------------------- mood

/// The day's mood: the average weight of its mood words (a negation up to three words
/// before a word turns it into a mild opposite), "okay" without any.
fn mood(sentences: &[Sentence]) -> Mood {
    let (mut sum, mut hits) = (0.0, 0.0);
    for s in sentences {
        for (k, w) in s.words.iter().enumerate() {
            let Some(weight) = mood_weight(w) else {
                continue;
            };
            let window = &s.words[k.saturating_sub(NEGATION_WINDOW)..k];
            let negated = window.iter().any(|x| is_negator(x));
            sum += match (negated, weight) {
                (true, w) if w > 0 => -1.0,
                (true, w) if w < 0 => 1.0,
                (_, w) => f64::from(w),
            };
            hits += 1.0;
        }
    }
    if hits == 0.0 {
        return Mood::Okay;
    }
    match sum / hits {
        a if a >= 1.25 => Mood::Great,
        a if a >= 0.4 => Mood::Good,
        a if a > -0.4 => Mood::Okay,
        a if a > -1.25 => Mood::Low,
        _ => Mood::Bad,
    }
}

fn mood_weight(word: &str) -> Option<i32> {
    MOOD_WORDS
        .iter()
        .find(|(_, list)| listed(list, word))
        .map(|(w, _)| *w)
}

fn is_negator(word: &str) -> bool {
    listed(NEGATORS, word) || word.ends_with("n't")
}

// ---------------------------------------------------------------- themes

/// A candidate theme: how often it occurs and in which entries.
#[derive(Default)]
struct Candidate {
    count: usize,
    entries: BTreeSet<usize>,
    first: usize,
    /// Written forms (not at a sentence start) and how often each was used.
    forms: BTreeMap<String, usize>,
    /// The lowercase form first seen (the fallback).
    lower: String,
}

impl Candidate {
    /// Counts one occurrence; `form` is how it was written (`None` at the start of a
    /// sentence, where a capital says nothing).
    fn add(&mut self, lower: String, form: Option<String>, entry: usize, position: usize) {
        if self.count == 0 {
            self.first = position;
            self.lower = lower;
        }
        self.count += 1;
        self.entries.insert(entry);
        if let Some(f) = form {
            *self.forms.entry(f).or_default() += 1;
        }
    }

    fn score(&self) -> usize {
        self.count * self.entries.len()
    }

    /// The most used written form ("Leo", "launch"; fewer capitals on a tie).
    fn form(&self) -> String {
        let capitals = |s: &str| s.chars().filter(|c| c.is_uppercase()).count();
        self.forms
            .iter()
            .max_by(|a, b| {
                a.1.cmp(b.1)
                    .then(capitals(b.0).cmp(&capitals(a.0)))
                    .then(b.0.len().cmp(&a.0.len()))
            })
            .map_or_else(|| self.lower.clone(), |(f, _)| f.clone())
    }
}

fn is_theme_word(w: &str) -> bool {
    is_content(w)
        && w.chars().count() >= 3
        && w.chars().all(|c| c.is_alphabetic() || c == '-')
        && !listed(NOT_THEMES, w)
        && !w.ends_with("ly")
        && !is_past_tense(w)
        && !w.contains('\'')
        && mood_weight(w).is_none()
}

/// "stayed", "worked": verbs, not themes ("bed", "need", "speed" are kept).
fn is_past_tense(w: &str) -> bool {
    w.chars().count() >= 5 && w.ends_with("ed") && !w.ends_with("eed")
}

/// Up to five themes: repeated two-word phrases and single words, scored by count ×
/// the number of entries they appear in. A word inside a chosen phrase is not listed
/// again. Without any repeated word, the three longest words stand in.
fn themes(sentences: &[Sentence]) -> Vec<String> {
    let (words, pairs) = theme_candidates(sentences);
    let mut ranked: Vec<(&Vec<String>, &Candidate)> = pairs
        .iter()
        .filter(|(_, c)| c.count >= 2)
        .chain(words.iter().filter(|(_, c)| c.count >= 2))
        .collect();
    ranked.sort_by(|a, b| {
        (b.1.score() * b.0.len())
            .cmp(&(a.1.score() * a.0.len()))
            .then(a.1.first.cmp(&b.1.first))
    });
    let mut out: Vec<String> = Vec::new();
    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for (stems, c) in ranked {
        if out.len() == MAX_THEMES {
            break;
        }
        if stems.iter().all(|s| covered.contains(s.as_str())) {
            continue;
        }
        covered.extend(stems.iter().map(String::as_str));
        out.push(c.form());
    }
    if out.is_empty() {
        let mut singles: Vec<&Candidate> = words.values().collect();
        singles.sort_by(|a, b| {
            b.form()
                .len()
                .cmp(&a.form().len())
                .then(a.first.cmp(&b.first))
        });
        out = singles.into_iter().take(3).map(Candidate::form).collect();
    }
    out
}

type Candidates = BTreeMap<Vec<String>, Candidate>;

/// Theme words and adjacent theme-word pairs, keyed by their stems.
fn theme_candidates(sentences: &[Sentence]) -> (Candidates, Candidates) {
    let mut words = Candidates::new();
    let mut pairs = Candidates::new();
    let mut position = 0;
    for s in sentences {
        let written = |k: usize| (k > 0).then(|| s.raw[k].clone());
        for (k, w) in s.words.iter().enumerate() {
            position += 1;
            if !is_theme_word(w) {
                continue;
            }
            words
                .entry(vec![stem(w)])
                .or_default()
                .add(w.clone(), written(k), s.entry, position);
            if let Some(p) = k.checked_sub(1)
                && is_theme_word(&s.words[p])
            {
                let form = written(p).map(|prev| format!("{prev} {}", s.raw[k]));
                pairs
                    .entry(vec![stem(&s.words[p]), stem(w)])
                    .or_default()
                    .add(format!("{} {w}", s.words[p]), form, s.entry, position);
            }
        }
    }
    (words, pairs)
}

// ---------------------------------------------------------------- insights

fn has_insight_cue(s: &Sentence) -> bool {
    let text = format!(" {} ", s.words.join(" "));
    INSIGHT_CUES
        .iter()
        .any(|cue| text.contains(&format!(" {cue} ")) || text.contains(&format!(" {cue}s ")))
}

/// Sentences with an insight cue ("I realized", "next time", "I should"…), the best
/// ranked three of them in the order said; without any, the two best ranked sentences
/// the summary did not use.
fn insights(sentences: &[Sentence], ranked: &[usize], summary: &[usize]) -> Vec<String> {
    let mut cued: Vec<usize> = ranked
        .iter()
        .copied()
        .filter(|&i| has_insight_cue(&sentences[i]))
        .take(MAX_INSIGHTS)
        .collect();
    if cued.is_empty() {
        cued = ranked
            .iter()
            .copied()
            .filter(|i| !summary.contains(i) && sentences[*i].terms.len() >= 3)
            .take(2)
            .collect();
    }
    cued.sort_unstable();
    cued.into_iter()
        .map(|i| finish(&sentences[i].text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workday: a tough meeting, a lunch run, an evening reflection.
    const WORKDAY: [&str; 3] = [
        "Started the morning with the quarterly planning meeting. The meeting ran two hours \
         over and nobody agreed on the roadmap. I felt stressed and honestly a bit useless by \
         the end of it. Coffee did not help.",
        "Went for a run at lunch to clear my head. The run along the river was the best part \
         of the day. My legs were sore but I felt calm afterwards.",
        "Back home I wrote down what went wrong in the planning meeting. I realized the roadmap \
         fight was really about the budget, not the features. Next time I should send the \
         roadmap draft a day before the meeting. Dinner with Sam was nice.",
    ];

    /// A great Saturday with the kids.
    const SATURDAY: [&str; 2] = [
        "We took the kids to the beach this morning. The kids built a huge sandcastle and the \
         weather was perfect. I was so happy watching them play in the waves.",
        "Amazing day overall. We ate ice cream on the pier and the kids fell asleep in the car. \
         I'm grateful for days like this with the kids.",
    ];

    /// A low day, with negations that must not read as positive.
    const SICK_DAY: [&str; 2] = [
        "Woke up with a sore throat and a headache. I didn't feel good at all and stayed in bed \
         most of the morning.",
        "Tried to work on the report in the afternoon but I was too tired to focus. Not a great \
         day. I noticed I always get sick after a week of bad sleep.",
    ];

    #[test]
    fn the_workday_summary_picks_the_meeting_sentences() {
        let s = summarize_texts(&WORKDAY);
        assert_eq!(
            s.summary,
            "The meeting ran two hours over and nobody agreed on the roadmap. \
             Back home I wrote down what went wrong in the planning meeting. \
             Next time I should send the roadmap draft a day before the meeting."
        );
        assert_eq!(
            s.mood,
            Mood::Okay,
            "a stressful meeting, a calm run, a nice dinner"
        );
        assert_eq!(s.themes[..3], ["planning meeting", "roadmap", "run"]);
        assert_eq!(
            s.insights,
            [
                "I realized the roadmap fight was really about the budget, not the features.",
                "Next time I should send the roadmap draft a day before the meeting."
            ]
        );
    }

    #[test]
    fn the_saturday_is_great_and_about_the_kids() {
        let s = summarize_texts(&SATURDAY);
        assert_eq!(
            s.summary,
            "We took the kids to the beach this morning. \
             I'm grateful for days like this with the kids.",
            "two sentences for a six-sentence day"
        );
        assert_eq!(s.mood, Mood::Great);
        assert_eq!(s.themes, ["kids"], "the only word said in both entries");
        assert_eq!(
            s.insights[0], "The kids built a huge sandcastle and the weather was perfect.",
            "no insight cue: the next best ranked sentence"
        );
    }

    #[test]
    fn negations_make_the_sick_day_low() {
        let s = summarize_texts(&SICK_DAY);
        assert_eq!(
            s.mood,
            Mood::Low,
            "\"didn't feel good\" and \"not a great day\" count as low"
        );
        assert_eq!(
            s.summary,
            "Woke up with a sore throat and a headache. \
             I didn't feel good at all and stayed in bed most of the morning."
        );
        assert_eq!(s.themes, ["headache", "throat", "report"], "no verbs");
        assert_eq!(
            s.insights,
            ["I noticed I always get sick after a week of bad sleep."]
        );
    }

    fn fixture(text: &str, date: &str) -> DaySummary {
        let day = crate::journal::markdown::parse_day(text, date.parse().unwrap());
        Extractive.summarize(&day).unwrap()
    }

    #[test]
    fn fixture_days_summarise_to_their_key_sentences() {
        let launch = fixture(
            include_str!("../../tests/fixtures/journal/2026-01-14.md"),
            "2026-01-14",
        );
        assert_eq!(
            launch.summary,
            "Made coffee and went through the launch checklist for Friday. \
             We talked about the launch and she thinks we should cut the referral feature from Friday's launch. \
             The payments team finally signed off, so the launch can go ahead on Friday without the referral feature."
        );
        assert_eq!(launch.mood, Mood::Good);
        assert_eq!(
            launch.themes,
            [
                "launch",
                "payments team",
                "referral feature",
                "checklist",
                "walk"
            ]
        );
        assert_eq!(launch.insights.len(), 2);
        let weekend = fixture(
            include_str!("../../tests/fixtures/journal/2026-01-17.md"),
            "2026-01-17",
        );
        assert_eq!(
            weekend.summary,
            "Leo wants to try baking sourdough himself next weekend. \
             Long bike ride along the coast, almost sixty kilometres.",
            "one sentence from each entry, not the two that only share \"ride\""
        );
        assert_eq!(weekend.mood, Mood::Great);
        assert_eq!(
            weekend.themes,
            ["ride", "Leo", "sourdough", "coast"],
            "a name keeps its capital"
        );
        let retro = fixture(
            include_str!("../../tests/fixtures/journal/2026-01-18.md"),
            "2026-01-18",
        );
        assert_eq!(retro.mood, Mood::Low, "anxious, then \"wasn't as bad\"");
        assert_eq!(retro.themes, ["launch retro"]);
        assert_eq!(
            retro.insights,
            ["I noticed that writing things down makes the worry smaller."]
        );
    }

    #[test]
    fn a_repeated_thought_is_summarised_once() {
        let s = summarize_texts(&[
            "The garden fence blew down in the storm last night. Called the landlord about the fence.",
            "The fence in the garden blew down in last night's storm. The landlord will send someone about the fence on Monday. Made soup.",
            "Spent the evening reading about fence repairs and garden storms. Finished the soup.",
        ]);
        let fences = s.summary.matches("blew down").count();
        assert_eq!(fences, 1, "{}", s.summary);
    }

    #[test]
    fn summary_length_follows_the_day() {
        assert_eq!(summary_length(1), 1);
        assert_eq!(summary_length(6), 2);
        assert_eq!(summary_length(14), 3);
        let one = summarize_texts(&["Quiet day. Read a book about birds."]);
        assert_eq!(one.summary, "Read a book about birds.");
        let none = summarize_texts(&["👍 🎉"]);
        assert_eq!(
            none.summary,
            "(The entries have no sentences to summarise.)"
        );
        assert_eq!(none.mood, Mood::Okay);
        assert!(none.themes.is_empty() && none.insights.is_empty());
    }

    #[test]
    fn sentences_split_at_ends_not_abbreviations() {
        assert_eq!(
            split_sentences("Saw Dr. Lee at 9 a.m. today. It went well! Did it? Yes"),
            [
                "Saw Dr. Lee at 9 a.m. today.",
                "It went well!",
                "Did it?",
                "Yes"
            ]
        );
        assert_eq!(
            split_sentences("- first point\n- second point"),
            ["first point", "second point"]
        );
    }

    #[test]
    fn stems_join_word_forms() {
        assert_eq!(stem("running"), "run");
        assert_eq!(stem("runs"), "run");
        assert_eq!(stem("meetings"), stem("meeting"));
        assert_eq!(stem("stories"), stem("story"));
        assert_eq!(stem("planned"), "plan");
        assert_eq!(stem("class"), "class");
    }

    #[test]
    fn negation_flips_a_mood_word() {
        let m = |t: &str| mood(&[Sentence::new(t.into(), 0)]);
        assert_eq!(m("I was happy and proud."), Mood::Good);
        assert_eq!(m("I was not happy."), Mood::Low);
        assert_eq!(m("Honestly it wasn't bad."), Mood::Good);
        assert_eq!(m("Went to the shop."), Mood::Okay);
        assert_eq!(m("Awful, terrible, stressed."), Mood::Bad);
    }
}
