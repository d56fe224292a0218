//! The offline "rules" organizer: phrase and keyword rules turn a transcript into TODOs,
//! notes and journal entries, deterministically, with due dates relative to the recording.

use std::ops::Range;

use chrono::{Datelike, Days, Months, NaiveDate, Weekday};

use super::{
    DEFAULT_CATEGORIES, JournalEntry, Note, Organization, OrganizeInput, Organizer, Priority, Todo,
};

/// The offline organizer (`organization.provider = "rules"`): no network, no model,
/// the same output for the same input.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesOrganizer;

impl Organizer for RulesOrganizer {
    fn organize(
        &self,
        input: &OrganizeInput<'_>,
    ) -> Result<super::Organized, crate::voice_memo::error::ItemError> {
        Ok(super::Organized {
            org: organize_rules(input),
            usage: super::Usage::default(),
        })
    }
}

/// Organizes one memo by rules; never fails (an unusable memo comes back with `discard`).
pub fn organize_rules(input: &OrganizeInput<'_>) -> Organization {
    let today = input.recorded_at.date_naive();
    let text = Text::new(remove_fillers(&strip_noise(input.transcript)));
    if text.real_words() < 2 {
        return discarded();
    }
    let extraction = match leading_route(&text) {
        Some((kind, start)) => extract_routed(&text, kind, start, today),
        None => extract_classified(&text, today),
    };
    assemble(&text, extraction, input.categories, today)
}

// Word lists are space-separated words; phrase lists are `|`-separated phrases.

const FILLERS: &str = "um umm uhm uh uhh erm er hmm hm mm mmm mhm ah ahh";
/// Multi-word fillers; `true` when the last word must carry a comma (`like,` but not `I like`).
const FILLER_PHRASES: &[(&str, bool)] = &[
    ("you know", false),
    ("i mean", true),
    ("sort of", true),
    ("kind of", true),
    ("like", true),
];
/// Words before "you know" that make it a real question ("do you know where").
const YOU_KNOW_KEEPERS: &str = "do did does don't didn't if whether would as";
const ABBREVIATIONS: &str = "mr mrs ms dr st vs etc e.g i.e a.m p.m jr sr prof";
const TODO_CUES: &str = "remind me to|remind me about|remind me|i need to|i have to|i've got to|\
    i gotta|gotta|don't forget to|do not forget to|i should|i must|i ought to|make sure to|\
    make sure i|i want to remember to|remember to|need to|have to";
const JOURNAL_CUES: &str = "today i|yesterday i|this morning i|this afternoon i|this evening i|\
    tonight i|i feel|i felt|i'm feeling|i am feeling|i've been feeling|i'm grateful|\
    i am grateful|grateful for|i'm thankful|thankful for|i was|i had|i went|we went|i met|\
    i'm happy|i am happy|i'm sad|i am sad|i'm tired|i am tired|i'm exhausted|i'm stressed|\
    i'm excited|i'm so|i am so|dear diary|it was a|it was not a|it wasn't a|it's been a";
/// Phrases that mark an idea (a note) even when a journal cue is present.
const IDEA_CUES: &str = "idea|ideas|what if|would be cool|would be nice|we could|users could|\
    i was thinking|i was wondering";
/// Idea phrases that also start a new clause in unpunctuated speech.
const IDEA_BOUNDARIES: &str = "what if|i had an idea|i have an idea|i was thinking";
const CONNECTIVE_BOUNDARIES: &str =
    "and then|and also|oh and|oh also|also|another thing|one more thing|anyway";
const LEADING_CONNECTIVES: &str = "and so then also oh okay ok yeah plus anyway alright well first \
    second third finally lastly firstly secondly";
const TRAILING_CONNECTIVES: &str = "and so then but or also because cause plus that";
/// A clause made only of these says nothing ("Okay, that's it. Bye.").
const DISCOURSE: &str = "ok okay so yeah yes alright right anyway well oh and then also that's it \
    all thanks thank you bye hi hello hey test testing one two three is this on a couple few of \
    things thing first let's see start for watching listening";
const PRONOUNS: &str = "i we you he she they i'll we'll i'd";
/// Words that may precede a cue yet belong to it ("we really need to").
const CUE_LEAD_IN: &str = "i we also really still just definitely actually probably seriously \
    i'll we'll will i'd we'd you";
/// A cue right after one of these continues the sentence instead of starting a clause.
const GLUE: &str = "like that think thought guess because cause if when since know maybe \
    probably mean feel felt said say says hope wish whether how what why where realized \
    realised remember forgot";
/// Minimum words before a mid-sentence cue for it to start a new clause.
const MIN_WORDS_BEFORE_CUT: usize = 3;
const NEGATIONS: &str =
    "not never no don't didn't doesn't wasn't isn't aren't weren't can't couldn't won't hardly";
const IMPERATIVES: &str = "buy call email e-mail text pick schedule book pay send order get \
    renew cancel phone ring return fix finish write submit check clean wash make take bring \
    file sign update reply respond print water feed grab contact follow reschedule mail post \
    register apply prepare review drop ask tell invite confirm find charge tidy vacuum cook \
    walk message ping go do remind transfer collect deliver";
/// Words that join verb phrases in a list ("call mom and then buy milk").
const ACTION_JOINERS: &str = "and then also plus";
/// After a comma, these start a side remark that is not part of a todo's title.
const CLAUSE_STARTERS: &str =
    "the my it it's this that i i'm we he she they because since so which as cause there there's";
const TITLE_LEAD_SKIP: &str = "please also then and to that just";
const TITLE_TAIL_SKIP: &str =
    "and or to the a an also then so but for by on at please with about of in my is that";
const NOTE_TITLE_LEAD: &str = "i was thinking that|i was thinking about|i was thinking";
/// Prepositions that belong to the time phrase after them ("by Friday").
const TIME_PREPOSITIONS: &str = "by on until till before due for over";
const WEEKDAYS: &str = "monday tuesday wednesday thursday friday saturday sunday";
const MONTHS: &str =
    "january february march april may june july august september october november december";
const MONTH_ABBREVIATIONS: &str = "jan feb mar apr may jun jul aug sep oct nov dec";
const NUMBER_WORDS: &str = "one two three four five six seven eight nine ten eleven twelve";
/// Category → phrases pointing to it; on a tie the earlier category wins.
const CATEGORY_RULES: &[(&str, &str)] = &[
    (
        "research item",
        "research|look into|read about|learn about|paper|papers|study|article|investigate|find out",
    ),
    (
        "feature idea",
        "app|feature|features|button|users could|user could|settings|dark mode|screen|plugin",
    ),
    (
        "project idea",
        "project|business|startup|build a|build an|side project|company",
    ),
];
const TAG_LEXICON: &[(&str, &str)] = &[
    (
        "work",
        "work office meeting meetings boss client clients colleague job deadline",
    ),
    ("home", "home house apartment flat kitchen garden garage"),
    (
        "health",
        "health doctor gym workout dentist sleep diet therapy",
    ),
    (
        "family",
        "family mom mum dad kids son daughter wife husband sister brother grandma",
    ),
    (
        "money",
        "money budget bank rent tax taxes invoice salary savings",
    ),
    (
        "travel",
        "trip flight flights hotel travel vacation holiday",
    ),
];
const MAX_TAGS: usize = 3;
/// Mood words by score: 2 great, 1 good, 0 okay, -1 low, -2 bad.
const MOOD_WORDS: &[(i32, &str)] = &[
    (
        2,
        "great amazing awesome fantastic wonderful excited thrilled",
    ),
    (
        1,
        "happy good grateful thankful glad proud relaxed calm productive",
    ),
    (0, "okay fine meh"),
    (-1, "tired sad lonely bored exhausted drained"),
    (
        -2,
        "bad stressed anxious frustrated angry upset awful terrible horrible miserable \
        overwhelmed worried depressed",
    ),
];
const MAX_TODO_TITLE: usize = 80;
const MAX_NOTE_TITLE_WORDS: usize = 8;
/// A note title stops at a comma once it has this many words.
const NOTE_TITLE_MIN_WORDS: usize = 3;
const MAX_MEMO_TITLE: usize = 60;
const SENTENCES_PER_PARAGRAPH: usize = 4;

fn listed(list: &str, word: &str) -> bool {
    list.split_whitespace().any(|w| w == word)
}

fn position(list: &str, word: &str) -> Option<usize> {
    list.split_whitespace().position(|w| w == word)
}

// ---------------------------------------------------------------- cleaning

/// Drops bracketed recogniser annotations ("[BLANK_AUDIO]", "(music)") and music symbols.
fn strip_noise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => {
                depth = depth.saturating_sub(1);
                out.push(' ');
            }
            '♪' | '♫' => {}
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Removes spoken fillers ("um", "uh", "like,", "you know", "I mean,") and collapses
/// whitespace, moving a filler's sentence punctuation onto the word before it.
fn remove_fillers(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norms: Vec<String> = words.iter().map(|w| normalize(w)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut capitalise_next = false;
    let mut i = 0;
    while i < words.len() {
        let len = filler_len(&words, &norms, i);
        if len == 0 {
            let word = words[i];
            out.push(if capitalise_next {
                capitalise(word)
            } else {
                word.to_string()
            });
            capitalise_next = false;
            i += 1;
            continue;
        }
        let at_sentence_start = out
            .last()
            .is_none_or(|w| ends_sentence(w, &normalize(w), false));
        capitalise_next |= at_sentence_start && words[i].starts_with(char::is_uppercase);
        carry_punctuation(&mut out, words[i + len - 1]);
        i += len;
    }
    out.join(" ")
}

/// How many words from `i` form a filler (0 when none does).
fn filler_len(words: &[&str], norms: &[String], i: usize) -> usize {
    if listed(FILLERS, &norms[i]) {
        return 1;
    }
    for &(phrase, needs_comma) in FILLER_PHRASES {
        let n = phrase.split(' ').count();
        let matched = norms
            .get(i..i + n)
            .is_some_and(|s| s.iter().zip(phrase.split(' ')).all(|(a, b)| a == b));
        let comma_ok = !needs_comma || words.get(i + n - 1).is_some_and(|w| w.ends_with(','));
        let question = phrase == "you know" && i > 0 && listed(YOU_KNOW_KEEPERS, &norms[i - 1]);
        if matched && comma_ok && !question {
            return n;
        }
    }
    0
}

/// Keeps a removed filler's full stop ("home um." → "home.") and drops the comma
/// a recogniser put before it ("was, like, fun" → "was fun").
fn carry_punctuation(out: &mut [String], filler: &str) {
    let Some(prev) = out.last_mut() else { return };
    let tail = &filler[filler
        .trim_end_matches(|c: char| !c.is_alphanumeric())
        .len()..];
    let ellipsis = tail.contains("..") || tail.contains('…');
    let terminal: String = tail
        .chars()
        .filter(|c| matches!(c, '.' | '!' | '?'))
        .collect();
    if !terminal.is_empty() && !ellipsis {
        prev.truncate(prev.trim_end_matches([',', ';', ':']).len());
        if !prev.ends_with(['.', '!', '?']) {
            prev.push_str(&terminal);
        }
    } else if tail.contains(',') && prev.ends_with(',') {
        prev.pop();
    }
}

/// Lowercase, curly apostrophes straightened, surrounding punctuation trimmed.
fn normalize(word: &str) -> String {
    let lower = word.replace(['’', '‘'], "'").to_lowercase();
    lower
        .trim_matches(|c: char| !(c.is_alphanumeric() || c == '#'))
        .to_string()
}

/// Upper-cases the first letter, leaving words like "iPhone" alone.
fn capitalise(s: &str) -> String {
    let first_word = s.split_whitespace().next().unwrap_or_default();
    if first_word.chars().skip(1).any(char::is_uppercase) {
        return s.to_string();
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn ends_sentence(word: &str, norm: &str, semicolon: bool) -> bool {
    let w = word.trim_end_matches(['"', '\'', '”', '’', ')']);
    if w.ends_with("..") || w.ends_with('…') || listed(ABBREVIATIONS, norm) {
        return false;
    }
    w.ends_with(['.', '!', '?']) || (semicolon && w.ends_with(';'))
}

// ---------------------------------------------------------------- tokens

#[derive(Debug, Clone)]
struct Tok {
    start: usize,
    end: usize,
    norm: String,
}

/// The cleaned transcript and its whitespace-separated words (byte spans into `raw`).
#[derive(Debug)]
struct Text {
    raw: String,
    toks: Vec<Tok>,
}

impl Text {
    fn new(raw: String) -> Self {
        let mut toks = Vec::new();
        let mut start = None;
        let bounds = raw.char_indices().chain([(raw.len(), ' ')]);
        for (i, c) in bounds {
            match (c.is_whitespace(), start) {
                (true, Some(s)) => {
                    toks.push(Tok {
                        start: s,
                        end: i,
                        norm: normalize(&raw[s..i]),
                    });
                    start = None;
                }
                (false, None) => start = Some(i),
                _ => {}
            }
        }
        Text { raw, toks }
    }

    fn norm(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.norm.as_str())
    }

    fn word(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| &self.raw[t.start..t.end])
    }

    /// The verbatim text of words `r` (empty for an empty range).
    fn slice(&self, r: Range<usize>) -> &str {
        let last = r.end.checked_sub(1).and_then(|e| self.toks.get(e));
        match (self.toks.get(r.start), last) {
            (Some(a), Some(b)) if r.start < r.end => &self.raw[a.start..b.end],
            _ => "",
        }
    }

    fn real_words(&self) -> usize {
        self.toks.iter().filter(|t| !t.norm.is_empty()).count()
    }

    /// Length of `phrase` (space-separated words) if it starts at `i` and ends before `end`.
    fn phrase_len(&self, i: usize, end: usize, phrase: &str) -> Option<usize> {
        let mut n = 0;
        for w in phrase.split_whitespace() {
            if i + n >= end || self.norm(i + n) != w {
                return None;
            }
            n += 1;
        }
        Some(n)
    }

    /// The longest of the `|`-separated `phrases` starting at `i`.
    fn longest(&self, i: usize, end: usize, phrases: &str) -> Option<usize> {
        phrases
            .split('|')
            .filter_map(|p| self.phrase_len(i, end, p))
            .max()
    }

    fn contains_any(&self, r: Range<usize>, phrases: &str) -> bool {
        r.clone().any(|i| self.longest(i, r.end, phrases).is_some())
    }

    /// Splits words `r` into sentences at `.`, `!`, `?` (and `;` when asked).
    fn sentences(&self, r: Range<usize>, semicolon: bool) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut start = r.start;
        for i in r.clone() {
            if ends_sentence(self.word(i), self.norm(i), semicolon) {
                out.push(start..i + 1);
                start = i + 1;
            }
        }
        if start < r.end {
            out.push(start..r.end);
        }
        out
    }
}

// ---------------------------------------------------------------- routing and clauses

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Todo,
    Note,
    Journal,
    Skip,
}

/// What was pulled out of a memo before notes and journal entries are written.
#[derive(Debug, Default)]
struct Extraction {
    todos: Vec<Todo>,
    note_runs: Vec<Range<usize>>,
    journal_runs: Vec<Range<usize>>,
}

/// "todo …", "to do …", "note …", "journal …": the memo goes entirely to that kind.
fn leading_route(text: &Text) -> Option<(Kind, usize)> {
    let skip = |at: usize, phrase: &str| at + text.phrase_len(at, usize::MAX, phrase).unwrap_or(0);
    match text.norm(0) {
        "todo" | "to-do" | "todos" => Some((Kind::Todo, skip(1, "list"))),
        "to" if text.norm(1) == "do" => Some((Kind::Todo, skip(2, "list"))),
        "note" => Some((Kind::Note, skip(skip(1, "to self"), "that"))),
        "journal" => Some((Kind::Journal, skip(1, "entry"))),
        _ => None,
    }
}

fn extract_routed(text: &Text, kind: Kind, start: usize, today: NaiveDate) -> Extraction {
    let all = start..text.toks.len();
    let mut ex = Extraction::default();
    match kind {
        Kind::Todo => {
            for sentence in text.sentences(all, true) {
                for clause in split_clauses(text, sentence) {
                    if !is_discourse(text, clause.clone()) {
                        ex.todos.extend(todos_from_clause(text, clause, today));
                    }
                }
            }
        }
        Kind::Note => ex.note_runs.extend(trim_connectives(text, all)),
        Kind::Journal => ex.journal_runs.extend(trim_connectives(text, all)),
        Kind::Skip => {}
    }
    ex
}

/// Classifies every clause; consecutive journal (or note) clauses form one run, and a
/// plain clause right after a journal clause continues the story.
fn extract_classified(text: &Text, today: NaiveDate) -> Extraction {
    let mut ex = Extraction::default();
    let mut last = None;
    for sentence in text.sentences(0..text.toks.len(), true) {
        for clause in split_clauses(text, sentence) {
            let mut kind = classify(text, clause.clone(), today);
            if kind == Kind::Note && last == Some(Kind::Journal) && is_plain(text, clause.clone()) {
                kind = Kind::Journal;
            }
            match kind {
                Kind::Todo => ex.todos.extend(todos_from_clause(text, clause, today)),
                Kind::Journal => extend_run(&mut ex.journal_runs, clause, last == Some(kind)),
                Kind::Note => extend_run(&mut ex.note_runs, clause, last == Some(kind)),
                Kind::Skip => continue,
            }
            last = Some(kind);
        }
    }
    ex
}

fn extend_run(runs: &mut Vec<Range<usize>>, clause: Range<usize>, contiguous: bool) {
    match runs.last_mut() {
        Some(run) if contiguous => run.end = clause.end,
        _ => runs.push(clause),
    }
}

/// Todo cue or imperative → todo; idea → note; journal cue → journal; the rest → note.
fn classify(text: &Text, clause: Range<usize>, today: NaiveDate) -> Kind {
    let cues = time_cues(text, clause.clone(), today);
    let journal_cue = clause
        .clone()
        .any(|i| journal_cue_at(text, i, clause.end).is_some());
    if is_discourse(text, clause.clone()) {
        Kind::Skip
    } else if find_todo_cue(text, clause.clone()).is_some()
        || starts_imperative(text, clause.clone(), &cues)
    {
        Kind::Todo
    } else if text.contains_any(clause, IDEA_CUES) || !journal_cue {
        Kind::Note
    } else {
        Kind::Journal
    }
}

/// No idea phrase and no category keyword: nothing marks the clause as a note.
fn is_plain(text: &Text, r: Range<usize>) -> bool {
    let keywords = CATEGORY_RULES.iter().map(|(_, phrases)| *phrases);
    !text.contains_any(r.clone(), IDEA_CUES)
        && !keywords
            .into_iter()
            .any(|p| text.contains_any(r.clone(), p))
}

fn is_discourse(text: &Text, r: Range<usize>) -> bool {
    r.map(|i| text.norm(i))
        .all(|n| n.is_empty() || listed(DISCOURSE, n))
}

/// Splits a sentence into clauses at connectives ("and then", "also") and at cue phrases,
/// so unpunctuated speech still separates "…it was great I need to…".
fn split_clauses(text: &Text, sentence: Range<usize>) -> Vec<Range<usize>> {
    let mut clauses = Vec::new();
    let mut piece_start = sentence.start;
    let mut i = sentence.start + 1;
    while i < sentence.end {
        match boundary_at(text, piece_start, i, sentence.end) {
            Some((cut, resume)) => {
                clauses.extend(trim_connectives(text, piece_start..cut));
                piece_start = resume;
                i = resume + 1;
            }
            None => i += 1,
        }
    }
    clauses.extend(trim_connectives(text, piece_start..sentence.end));
    clauses
}

/// `(end of this clause, start of the next)` when a boundary starts at word `i`.
fn boundary_at(text: &Text, piece_start: usize, i: usize, end: usize) -> Option<(usize, usize)> {
    if let Some(len) = text.longest(i, end, CONNECTIVE_BOUNDARIES) {
        // "I also need to…" keeps its "also".
        let owned_also = len == 1 && listed(PRONOUNS, text.norm(i - 1));
        if i + len < end && !owned_also {
            return Some((i, i + len));
        }
    }
    if !starts_clause_cue(text, i, end) {
        return None;
    }
    let mut cut = i;
    while cut > piece_start + 1 && listed(CUE_LEAD_IN, text.norm(cut - 1)) {
        cut -= 1;
    }
    if listed(GLUE, text.norm(cut - 1)) {
        return None;
    }
    let before = trim_connectives(text, piece_start..cut).map_or(0, |r| r.len());
    (before == 0 || before >= MIN_WORDS_BEFORE_CUT).then_some((cut, cut))
}

fn starts_clause_cue(text: &Text, i: usize, end: usize) -> bool {
    if todo_cue_at(text, i, end).is_some() || text.longest(i, end, IDEA_BOUNDARIES).is_some() {
        return true;
    }
    // "today I need to…" starts a todo, not a journal clause: cut at the todo cue instead.
    let time_led = matches!(text.norm(i), "today" | "tonight" | "yesterday" | "this");
    let todo_follows = (i + 1..(i + 4).min(end)).any(|j| todo_cue_at(text, j, end).is_some());
    journal_cue_at(text, i, end).is_some() && !(time_led && todo_follows)
}

/// Drops connective words at both ends of `r`; `None` when nothing is left.
fn trim_connectives(text: &Text, r: Range<usize>) -> Option<Range<usize>> {
    let skip = |list: &str, i: usize| text.norm(i).is_empty() || listed(list, text.norm(i));
    let (mut start, mut end) = (r.start, r.end);
    while start < end && skip(LEADING_CONNECTIVES, start) {
        start += 1;
    }
    while end > start && skip(TRAILING_CONNECTIVES, end - 1) {
        end -= 1;
    }
    (start < end).then_some(start..end)
}

/// A todo cue at `i`, unless negated ("don't need to"), regretful ("I should have")
/// or idiomatic ("I have to say").
fn todo_cue_at(text: &Text, i: usize, end: usize) -> Option<usize> {
    let len = text.longest(i, end, TODO_CUES)?;
    let next = text.norm(i + len);
    let bare = matches!(text.norm(i), "need" | "have");
    let negated = bare && i > 0 && listed(NEGATIONS, text.norm(i - 1));
    let regret = text.norm(i + 1) == "should" && matches!(next, "have" | "'ve");
    let idiom = text.norm(i + len - 2) == "have" && matches!(next, "say" | "admit");
    (!negated && !regret && !idiom).then_some(len)
}

fn find_todo_cue(text: &Text, r: Range<usize>) -> Option<(usize, usize)> {
    r.clone()
        .find_map(|i| todo_cue_at(text, i, r.end).map(|len| (i, len)))
}

fn journal_cue_at(text: &Text, i: usize, end: usize) -> Option<usize> {
    let musing = text
        .longest(i, end, "i was thinking|i was wondering")
        .is_some();
    text.longest(i, end, JOURNAL_CUES).filter(|_| !musing)
}

/// "Buy milk", "Tomorrow call mom", "Please email Sam": a recognised verb leads the clause.
fn starts_imperative(text: &Text, clause: Range<usize>, cues: &[TimeCue]) -> bool {
    let mut k = clause.start;
    while k < clause.end {
        if let Some(cue) = cues.iter().find(|c| c.start == k) {
            k = cue.end;
        } else if matches!(text.norm(k), "please" | "also" | "just" | "then") {
            k += 1;
        } else {
            break;
        }
    }
    k + 1 < clause.end && listed(IMPERATIVES, text.norm(k))
}

// ---------------------------------------------------------------- todos

fn todos_from_clause(text: &Text, clause: Range<usize>, today: NaiveDate) -> Vec<Todo> {
    let cues = time_cues(text, clause.clone(), today);
    let description = capitalise(text.slice(clause.clone()).trim());
    split_actions(text, action_start(text, clause.clone())..clause.end)
        .into_iter()
        .filter_map(|part| build_todo(text, part, &cues, &description))
        .collect()
}

/// The first word after the (possibly chained) cue: "remind me that I need to | call".
fn action_start(text: &Text, clause: Range<usize>) -> usize {
    let Some((at, len)) = find_todo_cue(text, clause.clone()) else {
        return clause.start;
    };
    let mut pos = at + len;
    loop {
        let mut p = pos;
        while p < clause.end && matches!(text.norm(p), "that" | "also") {
            p += 1;
        }
        match todo_cue_at(text, p, clause.end) {
            Some(l) => pos = p + l,
            None => return pos,
        }
    }
}

/// Splits "call mom and buy milk" into verb phrases; "salt and pepper" stays whole.
fn split_actions(text: &Text, r: Range<usize>) -> Vec<Range<usize>> {
    if r.is_empty() {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let mut start = r.start;
    let mut j = r.start + 1;
    while j < r.end {
        let marked = listed(ACTION_JOINERS, text.norm(j)) || text.word(j - 1).ends_with(',');
        let mut next = j;
        while next < r.end && listed(ACTION_JOINERS, text.norm(next)) {
            next += 1;
        }
        // The next part needs a verb and an object: "bread and water" is not split.
        if marked && next + 1 < r.end && listed(IMPERATIVES, text.norm(next)) {
            parts.push(start..j);
            start = next;
            j = next;
        }
        j += 1;
    }
    parts.push(start..r.end);
    parts
}

/// One todo from a verb phrase: its own time cues, else the clause's, set due and priority.
fn build_todo(text: &Text, part: Range<usize>, cues: &[TimeCue], desc: &str) -> Option<Todo> {
    let part = part.start..side_remark_start(text, part.clone());
    let own: Vec<&TimeCue> = cues
        .iter()
        .filter(|c| c.start < part.end && c.end > part.start)
        .collect();
    let relevant = if own.is_empty() {
        cues.iter().collect()
    } else {
        own
    };
    let words: Vec<&str> = part
        .filter(|&k| !cues.iter().any(|c| (c.start..c.end).contains(&k)))
        .map(|k| text.word(k))
        .collect();
    let title = make_title(&words, TITLE_LEAD_SKIP, MAX_TODO_TITLE);
    (!title.is_empty()).then(|| Todo {
        title,
        description: desc.to_string(),
        priority: most_urgent(&relevant),
        due: relevant.iter().find_map(|c| c.due),
    })
}

/// End of a todo's own words: a comma followed by "the …", "it's …" starts a side remark.
fn side_remark_start(text: &Text, part: Range<usize>) -> usize {
    (part.start..part.end.saturating_sub(1))
        .find(|&k| text.word(k).ends_with(',') && listed(CLAUSE_STARTERS, text.norm(k + 1)))
        .map_or(part.end, |k| k + 1)
}

/// The most urgent of the cues' priorities; `eventually` when there is no time cue at all.
fn most_urgent(cues: &[&TimeCue]) -> Priority {
    let rank = |p: &Priority| match p {
        Priority::Asap => 0,
        Priority::Soon => 1,
        Priority::Eventually => 2,
    };
    cues.iter()
        .map(|c| c.priority)
        .min_by_key(rank)
        .unwrap_or(Priority::Eventually)
}

/// Joins words into a title: hashtags, lead/tail filler words and edge punctuation
/// removed, capitalised, cut at a word boundary to `max` characters.
fn make_title(words: &[&str], lead_skip: &str, max: usize) -> String {
    let words: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !w.starts_with('#'))
        .collect();
    let start = words
        .iter()
        .position(|w| !listed(lead_skip, &normalize(w)))
        .unwrap_or(words.len());
    let mut end = words.len();
    while end > start && listed(TITLE_TAIL_SKIP, &normalize(words[end - 1])) {
        end -= 1;
    }
    let joined = words[start..end].join(" ");
    let trimmed = joined
        .trim_start_matches(|c: char| c.is_whitespace() || ",;:.-–—…".contains(c))
        .trim_end_matches(|c: char| c.is_whitespace() || ",;:.!?-–—…".contains(c));
    truncate_words(&capitalise(trimmed), max)
}

fn truncate_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    let at_word = cut.rfind(' ').map_or(cut.as_str(), |i| &cut[..i]);
    at_word.trim_end_matches([',', ';', ':', '-']).to_string()
}

// ---------------------------------------------------------------- dates and priorities

/// A time phrase in a clause: words `start..end` (with a leading "by"/"on"), what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TimeCue {
    start: usize,
    end: usize,
    due: Option<NaiveDate>,
    priority: Priority,
}

#[derive(Debug, Clone, Copy)]
enum When {
    InDays(u64),
    NextWeek,
    NextMonth,
    Weekend,
    Undated(Priority),
}

const FIXED_TIMES: &[(When, &str)] = &[
    (
        When::InDays(0),
        "today|tonight|later today|this afternoon|this evening|end of day|end of the day",
    ),
    (
        When::InDays(1),
        "tomorrow|tomorrow morning|tomorrow afternoon|tomorrow evening|tomorrow night",
    ),
    (When::InDays(2), "day after tomorrow|the day after tomorrow"),
    (When::Weekend, "this weekend|the weekend"),
    (When::NextWeek, "next week"),
    (When::NextMonth, "next month"),
    (
        When::Undated(Priority::Asap),
        "right now|right away|asap|a.s.a.p|immediately|urgent|urgently|as soon as possible",
    ),
    (
        When::Undated(Priority::Soon),
        "this week|end of the week|end of week|soon",
    ),
    (
        When::Undated(Priority::Eventually),
        "later|sometime|someday|some day|eventually|at some point|when i get a chance|\
        when i get the chance|when i have time|one of these days|no rush",
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeekdayMode {
    /// "Friday", "on Friday": the next one strictly after today.
    Bare,
    /// "this Friday": this week's, or the next one if it has passed.
    This,
    /// "next Friday": the one in the following week.
    Next,
}

/// Every time phrase in `r`, resolved against `today`.
fn time_cues(text: &Text, r: Range<usize>, today: NaiveDate) -> Vec<TimeCue> {
    let mut cues = Vec::new();
    let mut i = r.start;
    while i < r.end {
        let Some((len, due, priority)) = match_time(text, i, r.end, today) else {
            i += 1;
            continue;
        };
        let with_preposition = i > r.start && listed(TIME_PREPOSITIONS, text.norm(i - 1));
        cues.push(TimeCue {
            start: if with_preposition { i - 1 } else { i },
            end: i + len,
            due,
            priority: priority.unwrap_or_else(|| priority_for(due, today)),
        });
        i += len;
    }
    cues
}

type TimeMatch = (usize, Option<NaiveDate>, Option<Priority>);

/// The time phrase starting at word `i`: its length, date and (when the words say so) priority.
fn match_time(text: &Text, i: usize, end: usize, today: NaiveDate) -> Option<TimeMatch> {
    let fixed = FIXED_TIMES
        .iter()
        .filter_map(|(when, phrases)| text.longest(i, end, phrases).map(|n| (n, *when)))
        .max_by_key(|(n, _)| *n);
    if let Some((len, when)) = fixed {
        let (due, priority) = resolve(when, today);
        return Some((len, due, priority));
    }
    weekday_at(text, i, end, today)
        .or_else(|| in_count_at(text, i, end, today))
        .or_else(|| {
            NaiveDate::parse_from_str(text.norm(i), "%Y-%m-%d")
                .ok()
                .map(|d| (1, d))
        })
        .or_else(|| month_day_at(text, i, end, today))
        .map(|(len, date)| (len, Some(date), None))
}

fn resolve(when: When, today: NaiveDate) -> (Option<NaiveDate>, Option<Priority>) {
    let first_of_month = today.with_day(1);
    match when {
        When::InDays(n) => (today.checked_add_days(Days::new(n)), None),
        When::NextWeek => (next_monday(today), Some(Priority::Eventually)),
        When::NextMonth => (
            first_of_month.and_then(|d| d.checked_add_months(Months::new(1))),
            Some(Priority::Eventually),
        ),
        When::Weekend => (weekday_date(today, Weekday::Sat, WeekdayMode::This), None),
        When::Undated(p) => (None, Some(p)),
    }
}

/// Due today (or earlier) → asap; within a week → soon; later or undated → eventually.
fn priority_for(due: Option<NaiveDate>, today: NaiveDate) -> Priority {
    match due.map(|d| (d - today).num_days()) {
        Some(days) if days <= 0 => Priority::Asap,
        Some(days) if days <= 7 => Priority::Soon,
        _ => Priority::Eventually,
    }
}

fn next_monday(today: NaiveDate) -> Option<NaiveDate> {
    let ahead = 7 - today.weekday().num_days_from_monday();
    today.checked_add_days(Days::new(u64::from(ahead)))
}

fn weekday_date(today: NaiveDate, target: Weekday, mode: WeekdayMode) -> Option<NaiveDate> {
    let from = today.weekday().num_days_from_monday();
    let to = target.num_days_from_monday();
    let ahead = match mode {
        WeekdayMode::This if to >= from => to - from,
        WeekdayMode::Bare | WeekdayMode::This => (to + 6 - from) % 7 + 1,
        WeekdayMode::Next => 7 - from + to,
    };
    today.checked_add_days(Days::new(u64::from(ahead)))
}

fn weekday_at(text: &Text, i: usize, end: usize, today: NaiveDate) -> Option<(usize, NaiveDate)> {
    let (skip, mode) = match text.norm(i) {
        "this" | "coming" => (1, WeekdayMode::This),
        "next" => (1, WeekdayMode::Next),
        _ => (0, WeekdayMode::Bare),
    };
    if i + skip >= end {
        return None;
    }
    let index = position(WEEKDAYS, text.norm(i + skip))?;
    let target = Weekday::try_from(u8::try_from(index).ok()?).ok()?;
    Some((skip + 1, weekday_date(today, target, mode)?))
}

/// "in 3 days", "in two weeks", "in a couple of days", "in a month".
fn in_count_at(text: &Text, i: usize, end: usize, today: NaiveDate) -> Option<(usize, NaiveDate)> {
    if text.norm(i) != "in" {
        return None;
    }
    let (count_len, n) = count_at(text, i + 1, end)?;
    let unit_at = i + 1 + count_len;
    let date = match text.norm(unit_at) {
        _ if unit_at >= end => None,
        "day" | "days" => today.checked_add_days(Days::new(u64::from(n))),
        "week" | "weeks" => today.checked_add_days(Days::new(7 * u64::from(n))),
        "month" | "months" => today.checked_add_months(Months::new(n)),
        "hour" | "hours" | "minute" | "minutes" => Some(today),
        _ => None,
    }?;
    Some((count_len + 2, date))
}

fn count_at(text: &Text, i: usize, end: usize) -> Option<(usize, u32)> {
    let w = text.norm(i);
    if let Ok(n) = w.parse::<u32>() {
        return Some((1, n));
    }
    if let Some(pos) = position(NUMBER_WORDS, w) {
        return Some((1, u32::try_from(pos).ok()? + 1));
    }
    let phrases = [
        ("a couple of", 2),
        ("a couple", 2),
        ("couple of", 2),
        ("a few", 3),
        ("a", 1),
        ("an", 1),
    ];
    phrases
        .iter()
        .find_map(|(p, n)| text.phrase_len(i, end, p).map(|len| (len, *n)))
}

/// "March 14", "March 14th, 2027", "14 March", "the 14th of March": this year's, or
/// next year's when it has passed.
fn month_day_at(text: &Text, i: usize, end: usize, today: NaiveDate) -> Option<(usize, NaiveDate)> {
    let w = |k: usize| if i + k < end { text.norm(i + k) } else { "" };
    let (len, month, day) = if let (Some(m), Some(d)) = (month_of(w(0)), day_of(w(1))) {
        (2, m, d)
    } else if let (Some(d), Some(m)) = (day_of(w(0)), month_of(w(1))) {
        (2, m, d)
    } else if let (Some(d), "of", Some(m)) = (day_of(w(0)), w(1), month_of(w(2))) {
        (3, m, d)
    } else if let ("the", Some(d), "of", Some(m)) = (w(0), day_of(w(1)), w(2), month_of(w(3))) {
        (4, m, d)
    } else {
        return None;
    };
    let explicit_year = w(len)
        .parse::<i32>()
        .ok()
        .filter(|y| (1900..=2200).contains(y));
    if let Some(year) = explicit_year {
        return NaiveDate::from_ymd_opt(year, month, day).map(|d| (len + 1, d));
    }
    let this_year = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this_year >= today {
        return Some((len, this_year));
    }
    NaiveDate::from_ymd_opt(today.year() + 1, month, day).map(|d| (len, d))
}

fn month_of(w: &str) -> Option<u32> {
    let index = position(MONTHS, w)
        .or_else(|| position(MONTH_ABBREVIATIONS, w))
        .or_else(|| (w == "sept").then_some(8))?;
    u32::try_from(index).ok().map(|m| m + 1)
}

/// "14", "14th", "1st": a day of the month.
fn day_of(w: &str) -> Option<u32> {
    let digits = w.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix_ok = matches!(&w[digits.len()..], "" | "st" | "nd" | "rd" | "th");
    let day = digits
        .parse::<u32>()
        .ok()
        .filter(|d| (1..=31).contains(d))?;
    suffix_ok.then_some(day)
}

// ---------------------------------------------------------------- notes and journal

fn assemble(text: &Text, ex: Extraction, categories: &[String], today: NaiveDate) -> Organization {
    let notes: Vec<Note> = make_note(text, &ex.note_runs, categories)
        .into_iter()
        .collect();
    let journal: Vec<JournalEntry> = make_journal(text, &ex.journal_runs).into_iter().collect();
    if ex.todos.is_empty() && notes.is_empty() && journal.is_empty() {
        return discarded();
    }
    let mut org = Organization {
        todos: ex.todos,
        notes,
        journal,
        ..Organization::default()
    };
    org.title = memo_title(&org, today);
    org.summary = summary(&org);
    org
}

fn discarded() -> Organization {
    Organization {
        title: "Silence".to_string(),
        summary: "Nothing to organize: the memo has no usable speech.".to_string(),
        discard: true,
        ..Organization::default()
    }
}

/// The runs' sentences, each capitalised and closed, four to a paragraph.
fn prose(text: &Text, runs: &[Range<usize>]) -> String {
    let sentences: Vec<String> = runs
        .iter()
        .flat_map(|r| text.sentences(r.clone(), false))
        .map(|s| finish_sentence(text.slice(s)))
        .filter(|s| !s.is_empty())
        .collect();
    let paragraphs: Vec<String> = sentences
        .chunks(SENTENCES_PER_PARAGRAPH)
        .map(|c| c.join(" "))
        .collect();
    paragraphs.join("\n\n")
}

fn finish_sentence(s: &str) -> String {
    let t = s
        .trim()
        .trim_end_matches([',', ';', ':', '-', '–', '—'])
        .trim_end();
    let mut out = capitalise(t);
    let closed = out.trim_end_matches(['"', '\'', '”', '’', ')']);
    if !t.is_empty() && !closed.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

fn make_note(text: &Text, runs: &[Range<usize>], categories: &[String]) -> Option<Note> {
    let first = runs.first()?.clone();
    let content = prose(text, runs);
    (!content.is_empty()).then(|| Note {
        title: note_title(text, first),
        content,
        category: choose_category(text, runs, categories),
        tags: tags(text, runs),
    })
}

/// The first words of the note's first sentence, after "I was thinking" / "idea for".
fn note_title(text: &Text, run: Range<usize>) -> String {
    let sentence = text
        .sentences(run.clone(), false)
        .into_iter()
        .next()
        .unwrap_or(run);
    let mut start = sentence.start;
    if let Some(k) = (start..sentence.end.min(start + 6)).find(|&k| text.norm(k) == "idea") {
        let linked = matches!(text.norm(k + 1), "for" | "about" | "is" | "was");
        start = if linked { k + 2 } else { k + 1 };
    }
    start += text
        .longest(start, sentence.end, NOTE_TITLE_LEAD)
        .unwrap_or(0);
    let mut words: Vec<&str> = Vec::new();
    for k in (start..sentence.end).take(MAX_NOTE_TITLE_WORDS) {
        words.push(text.word(k));
        if words.len() >= NOTE_TITLE_MIN_WORDS && text.word(k).ends_with([',', ';', ':']) {
            break;
        }
    }
    make_title(&words, "", MAX_MEMO_TITLE)
}

/// The category the note's keywords point to, spelled as in `categories`; else
/// "general" if offered, else the first category.
fn choose_category(text: &Text, runs: &[Range<usize>], categories: &[String]) -> String {
    let available: Vec<&str> = if categories.is_empty() {
        DEFAULT_CATEGORIES.to_vec()
    } else {
        categories.iter().map(String::as_str).collect()
    };
    let find = |name: &str| available.iter().find(|c| c.eq_ignore_ascii_case(name));
    let hits = |phrases: &str| -> usize {
        let at = |r: &Range<usize>| {
            r.clone()
                .filter(|&i| text.longest(i, r.end, phrases).is_some())
                .count()
        };
        runs.iter().map(at).sum()
    };
    let mut best: Option<(&str, usize)> = None;
    for (name, phrases) in CATEGORY_RULES {
        let n = hits(phrases);
        if n > best.map_or(0, |b| b.1) {
            best = Some((name, n));
        }
    }
    best.and_then(|(name, _)| find(name))
        .or_else(|| find("general"))
        .or_else(|| available.first())
        .map_or_else(|| "general".to_string(), |c| (*c).to_string())
}

/// Up to three tags: hashtags ("#work", "hashtag work") first, then lexicon topics.
fn tags(text: &Text, runs: &[Range<usize>]) -> Vec<String> {
    let words: Vec<usize> = runs.iter().flat_map(|r| r.clone()).collect();
    let hashtags = words.iter().filter_map(|&i| match text.norm(i) {
        "hashtag" => Some(text.norm(i + 1)),
        n => n.strip_prefix('#'),
    });
    let topics = words.iter().filter_map(|&i| {
        TAG_LEXICON
            .iter()
            .find(|(_, lexicon)| listed(lexicon, text.norm(i)))
            .map(|(tag, _)| *tag)
    });
    let mut found: Vec<String> = Vec::new();
    for tag in hashtags.chain(topics) {
        if !tag.is_empty() && !found.iter().any(|t| t == tag) && found.len() < MAX_TAGS {
            found.push(tag.to_string());
        }
    }
    found
}

fn make_journal(text: &Text, runs: &[Range<usize>]) -> Option<JournalEntry> {
    let content = prose(text, runs);
    (!content.is_empty()).then(|| JournalEntry {
        content,
        mood: mood(text, runs),
    })
}

/// One of "great", "good", "okay", "low", "bad" from the mood words' average
/// (a negation just before a word flips it); `None` without mood words.
fn mood(text: &Text, runs: &[Range<usize>]) -> Option<String> {
    let (mut sum, mut count) = (0i32, 0i32);
    for r in runs {
        for k in r.clone() {
            let Some(&(score, _)) = MOOD_WORDS.iter().find(|(_, w)| listed(w, text.norm(k))) else {
                continue;
            };
            let window = k.saturating_sub(2).max(r.start)..k;
            let negated = text.contains_any(window, NEGATIONS.replace(' ', "|").as_str());
            sum += if negated { -score.signum() } else { score };
            count += 1;
        }
    }
    let label = match sum * 2 {
        _ if count == 0 => return None,
        s if s >= 3 * count => "great",
        s if s >= count => "good",
        s if s > -count => "okay",
        s if s > -3 * count => "low",
        _ => "bad",
    };
    Some(label.to_string())
}

// ---------------------------------------------------------------- title and summary

fn memo_title(org: &Organization, today: NaiveDate) -> String {
    let title = org
        .todos
        .first()
        .map(|t| t.title.clone())
        .or_else(|| org.notes.first().map(|n| n.title.clone()))
        .unwrap_or_else(|| format!("Journal – {}", today.format("%B %-d")));
    truncate_words(&title, MAX_MEMO_TITLE)
}

/// `2 todos, a note ("App idea") and a journal entry (mood: good).`
fn summary(org: &Organization) -> String {
    let mut parts = Vec::new();
    match org.todos.len() {
        0 => {}
        1 => parts.push("1 todo".to_string()),
        n => parts.push(format!("{n} todos")),
    }
    if let Some(note) = org.notes.first() {
        parts.push(format!("a note (\"{}\")", note.title));
    }
    if let Some(entry) = org.journal.first() {
        parts.push(match &entry.mood {
            Some(m) => format!("a journal entry (mood: {m})"),
            None => "a journal entry".to_string(),
        });
    }
    let list = match parts.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    };
    format!("{}.", capitalise(&list))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Priority::{Asap, Eventually, Soon};
    use chrono::{DateTime, FixedOffset};

    /// A Wednesday: 14 January 2026.
    const RECORDED: &str = "2026-01-14T13:54:31+01:00";

    fn at(rfc3339: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(rfc3339).expect("test timestamp parses")
    }

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date parses")
    }

    fn organize_at(said: &str, recorded: &str, categories: &[String]) -> Organization {
        let input = OrganizeInput {
            transcript: said,
            recorded_at: at(recorded),
            categories,
        };
        organize_rules(&input)
    }

    fn organize(said: &str) -> Organization {
        organize_at(said, RECORDED, &[])
    }

    /// Todos as `Title @priority [due]`, joined with "; ".
    fn todo_lines(org: &Organization) -> String {
        let line = |t: &Todo| match t.due {
            Some(d) => format!("{} @{} {d}", t.title, t.priority.as_str()),
            None => format!("{} @{}", t.title, t.priority.as_str()),
        };
        org.todos.iter().map(line).collect::<Vec<_>>().join("; ")
    }

    struct Case {
        said: &'static str,
        discard: bool,
        /// `Title @priority [due]; …`
        todos: &'static str,
        /// (title, category) of the one expected note.
        note: Option<(&'static str, &'static str)>,
        /// (content, mood) of the one expected journal entry.
        journal: Option<(&'static str, Option<&'static str>)>,
    }

    const NOTHING: Case = Case {
        said: "",
        discard: false,
        todos: "",
        note: None,
        journal: None,
    };

    const fn silent(said: &'static str) -> Case {
        Case {
            said,
            discard: true,
            ..NOTHING
        }
    }
    const fn todos(said: &'static str, todos: &'static str) -> Case {
        Case {
            said,
            todos,
            ..NOTHING
        }
    }
    const fn note(said: &'static str, title: &'static str, category: &'static str) -> Case {
        Case {
            said,
            note: Some((title, category)),
            ..NOTHING
        }
    }
    const fn journal(
        said: &'static str,
        content: &'static str,
        mood: Option<&'static str>,
    ) -> Case {
        Case {
            said,
            journal: Some((content, mood)),
            ..NOTHING
        }
    }

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        // Silence, fillers, noise, too short.
        silent(""),
        silent("   \n\t "),
        silent("Um, uh... hmm."),
        silent("um uh um"),
        silent("Okay."),
        silent("uh testing"),
        silent("[BLANK_AUDIO]"),
        silent("Thank you."),
        silent("Hmm okay"),
        silent("Thank you for watching."),
        // Todo cues, verb lists, no time cue.
        todos("Remind me to call mom and buy milk", "Call mom @eventually; Buy milk @eventually"),
        todos("I need to buy salt and pepper", "Buy salt and pepper @eventually"),
        todos("buy milk", "Buy milk @eventually"),
        todos("hey Siri remind me to call the doctor", "Call the doctor @eventually"),
        todos("Call mom, email dad and text my sister happy birthday",
              "Call mom @eventually; Email dad @eventually; Text my sister happy birthday @eventually"),
        todos("Order 3 packs of AA batteries and 2 phone chargers",
              "Order 3 packs of AA batteries and 2 phone chargers @eventually"),
        todos("Remind me that I need to renew my library card", "Renew my library card @eventually"),
        todos("I should look into vector databases for the search feature",
              "Look into vector databases for the search feature @eventually"),
        // Due dates and priorities.
        todos("Remind me to call mom tomorrow and buy milk today",
              "Call mom @soon 2026-01-15; Buy milk @asap 2026-01-14"),
        todos("Buy eggs, milk and bread tomorrow morning", "Buy eggs, milk and bread @soon 2026-01-15"),
        todos("Don't forget to pay the electricity bill by Friday.", "Pay the electricity bill @soon 2026-01-16"),
        todos("remind me tomorrow to call the insurance company", "Call the insurance company @soon 2026-01-15"),
        todos("I gotta text Sam about Saturday", "Text Sam @soon 2026-01-17"),
        todos("Schedule a dentist appointment next week", "Schedule a dentist appointment @eventually 2026-01-19"),
        todos("Book the venue in two weeks", "Book the venue @eventually 2026-01-28"),
        todos("Send the report on March 14th", "Send the report @eventually 2026-03-14"),
        todos("Renew the car insurance before January 3", "Renew the car insurance @eventually 2027-01-03"),
        todos("Pay rent on 2026-02-01", "Pay rent @eventually 2026-02-01"),
        todos("I have to finish the slides by this Wednesday", "Finish the slides @asap 2026-01-14"),
        todos("Make sure to water the plants on Wednesday", "Water the plants @soon 2026-01-21"),
        todos("Cancel the gym membership next month", "Cancel the gym membership @eventually 2026-02-01"),
        todos("Order a birthday cake for the day after tomorrow", "Order a birthday cake @soon 2026-01-16"),
        todos("Email the accountant in three days about the taxes",
              "Email the accountant about the taxes @soon 2026-01-17"),
        todos("Get a new charger sometime", "Get a new charger @eventually"),
        todos("Call the bank right now, it's urgent", "Call the bank @asap"),
        todos("Call the plumber asap, the kitchen sink is leaking", "Call the plumber @asap"),
        todos("Tonight I need to pack for the trip", "Pack for the trip @asap 2026-01-14"),
        todos("I need to transfer 250 euros to Anna by the 14th of February",
              "Transfer 250 euros to Anna @eventually 2026-02-14"),
        todos("Pick up the kids at 3 and then grab groceries for dinner tonight",
              "Pick up the kids at 3 @eventually; Grab groceries for dinner @asap 2026-01-14"),
        // Leading keywords route the whole memo.
        todos("todo: renew passport, book flights to Lisbon and then email the landlord",
              "Renew passport @eventually; Book flights to Lisbon @eventually; Email the landlord @eventually"),
        todos("To do pick up the dry cleaning tomorrow", "Pick up the dry cleaning @soon 2026-01-15"),
        todos("Todo buy milk; call grandma; fix the bike",
              "Buy milk @eventually; Call grandma @eventually; Fix the bike @eventually"),
        todos("TODO call Bob about the café opening on Friday", "Call Bob about the café opening @soon 2026-01-16"),
        todos("To-do: ring the garage about the MOT", "Ring the garage about the MOT @eventually"),
        note("Note: the Q3 plan should focus on retention, not acquisition.",
             "The Q3 plan should focus on retention", "general"),
        note("note to self the wifi password is on the fridge", "The wifi password is on the fridge", "general"),
        journal("Journal: today was a long day. I'm tired but happy.",
                "Today was a long day. I'm tired but happy.", Some("okay")),
        journal("Journal. Um, I mean, it was a weird day. I met Tom for coffee, like, and we talked for hours. \
                 Then I went home and cooked. I'm happy with how it went. Tomorrow will be busy.",
                "It was a weird day. I met Tom for coffee and we talked for hours. Then I went home and cooked. \
                 I'm happy with how it went.\n\nTomorrow will be busy.", Some("good")),
        // Journal sentences: fillers removed, verbatim otherwise.
        journal("um so today I went for a run and I feel great", "Today I went for a run and I feel great.", Some("great")),
        journal("I was so tired today. I feel like nothing got done.",
                "I was so tired today. I feel like nothing got done.", Some("low")),
        journal("I'm grateful for my sister and for the sunny weather",
                "I'm grateful for my sister and for the sunny weather.", Some("good")),
        journal("I'm feeling kind of, you know, overwhelmed with work lately",
                "I'm feeling overwhelmed with work lately.", Some("bad")),
        journal("Dear diary, I had a wonderful dinner at the café with Léa.",
                "Dear diary, I had a wonderful dinner at the café with Léa.", Some("great")),
        journal("I feel like I need a vacation", "I feel like I need a vacation.", None),
        journal("It was not a good day at all", "It was not a good day at all.", Some("low")),
        // Notes and their categories.
        note("I had a great idea for an app where users could share grocery lists",
             "An app where users could share grocery lists", "feature idea"),
        note("What if we built a small business selling handmade candles",
             "What if we built a small business selling", "project idea"),
        note("Research item: read about CRDTs and local-first software",
             "Research item: read about CRDTs and local-first software", "research item"),
        note("Feature idea: a dark mode button in the settings screen",
             "A dark mode button in the settings screen", "feature idea"),
        note("I was thinking we could start a podcast about urban gardening as a side project",
             "We could start a podcast about urban gardening", "project idea"),
        note("The onboarding flow needs a progress bar. Users could skip steps.",
             "The onboarding flow needs a progress bar", "feature idea"),
        note("I should have called her back", "I should have called her back", "general"),
        note("I have to say the concert was amazing", "I have to say the concert was amazing", "general"),
        note("Note that the meeting moved to Thursday", "The meeting moved to Thursday", "general"),
        note("Uh, I don't need to worry about the car anymore, it's fixed", "I don't need to worry about the car", "general"),
        // Mixed memos.
        Case { said: "today I went to the gym and it was great I need to call the dentist tomorrow also buy dog food",
               todos: "Call the dentist @soon 2026-01-15; Buy dog food @eventually",
               journal: Some(("Today I went to the gym and it was great.", Some("great"))), ..NOTHING },
        Case { said: "Okay, so a couple of things. First, I have to send the invoice to Acme by Monday. \
                      Second, I'm feeling pretty anxious about the launch.",
               todos: "Send the invoice to Acme @soon 2026-01-19",
               journal: Some(("I'm feeling pretty anxious about the launch.", Some("bad"))), ..NOTHING },
        Case { said: "Remind me to call the vet tomorrow. I felt really anxious this morning but the walk helped. \
                      Also, the app could have a weekly summary email.",
               todos: "Call the vet @soon 2026-01-15",
               note: Some(("The app could have a weekly summary email", "feature idea")),
               journal: Some(("I felt really anxious this morning but the walk helped.", Some("bad"))), ..NOTHING },
        Case { said: "I went to the farmers market this morning. Bought some amazing peaches. Need to make jam this weekend.",
               todos: "Make jam @soon 2026-01-17",
               journal: Some(("I went to the farmers market this morning. Bought some amazing peaches.", Some("great"))),
               ..NOTHING },
        Case { said: "I was so stressed at work today I need to email my boss about the deadline",
               todos: "Email my boss about the deadline @eventually",
               journal: Some(("I was so stressed at work today.", Some("bad"))), ..NOTHING },
        Case { said: "I need to call the landlord this week and I felt bad about the noise complaint",
               todos: "Call the landlord @soon",
               journal: Some(("I felt bad about the noise complaint.", Some("bad"))), ..NOTHING },
    ];

    fn check(case: &Case) {
        let org = organize(case.said);
        let said = case.said;
        assert_eq!(org.discard, case.discard, "discard for {said:?}");
        assert_eq!(todo_lines(&org), case.todos, "todos for {said:?}");
        let notes: Vec<(&str, &str)> = org
            .notes
            .iter()
            .map(|n| (n.title.as_str(), n.category.as_str()))
            .collect();
        assert_eq!(notes, Vec::from_iter(case.note), "notes for {said:?}");
        let journal: Vec<(&str, Option<&str>)> = org
            .journal
            .iter()
            .map(|j| (j.content.as_str(), j.mood.as_deref()))
            .collect();
        assert_eq!(
            journal,
            Vec::from_iter(case.journal),
            "journal for {said:?}"
        );
        if case.discard {
            assert_eq!(org.title, "Silence");
        } else {
            assert!(!org.title.is_empty() && org.title.chars().count() <= MAX_MEMO_TITLE);
        }
    }

    #[test]
    fn table_of_transcripts() {
        assert!(CASES.len() >= 40);
        for case in CASES {
            check(case);
        }
    }

    /// The due date and priority of the first time phrase in `phrase`.
    fn cue(phrase: &str, recorded: &str) -> Option<(Option<NaiveDate>, Priority)> {
        let text = Text::new(phrase.to_string());
        let cues = time_cues(&text, 0..text.toks.len(), at(recorded).date_naive());
        cues.first().map(|c| (c.due, c.priority))
    }

    fn due(phrase: &str) -> Option<NaiveDate> {
        cue(phrase, RECORDED).and_then(|(d, _)| d)
    }

    #[test]
    fn resolves_relative_days_and_weekdays() {
        let cases = [
            ("today", "2026-01-14"),
            ("tonight", "2026-01-14"),
            ("tomorrow", "2026-01-15"),
            ("the day after tomorrow", "2026-01-16"),
            ("friday", "2026-01-16"),
            ("by Friday", "2026-01-16"),
            ("this Friday", "2026-01-16"),
            ("next Friday", "2026-01-23"),
            ("Wednesday", "2026-01-21"),
            ("this Wednesday", "2026-01-14"),
            ("this Monday", "2026-01-19"),
            ("on Monday", "2026-01-19"),
            ("next week", "2026-01-19"),
            ("next month", "2026-02-01"),
            ("this weekend", "2026-01-17"),
        ];
        for (phrase, want) in cases {
            assert_eq!(due(phrase), Some(date(want)), "{phrase}");
        }
    }

    #[test]
    fn resolves_counts_and_calendar_dates() {
        let cases = [
            ("in 3 days", "2026-01-17"),
            ("in three days", "2026-01-17"),
            ("in two weeks", "2026-01-28"),
            ("in a couple of days", "2026-01-16"),
            ("in a month", "2026-02-14"),
            ("2026-03-14", "2026-03-14"),
            ("March 14", "2026-03-14"),
            ("March 14th,", "2026-03-14"),
            ("14 March", "2026-03-14"),
            ("the 14th of March", "2026-03-14"),
            ("Mar 14", "2026-03-14"),
            ("March 14, 2027", "2027-03-14"),
            ("January 14", "2026-01-14"),
            ("January 3", "2027-01-03"),
        ];
        for (phrase, want) in cases {
            assert_eq!(due(phrase), Some(date(want)), "{phrase}");
        }
        for phrase in [
            "February 30",
            "buy milk",
            "in the garden",
            "may I",
            "in 3 ways",
        ] {
            assert_eq!(due(phrase), None, "{phrase}");
        }
    }

    #[test]
    fn weekday_on_the_same_weekday_means_next_week() {
        let friday = "2026-01-16T09:00:00-05:00";
        assert_eq!(
            cue("Friday", friday),
            Some((Some(date("2026-01-23")), Soon))
        );
        assert_eq!(
            cue("this Friday", friday),
            Some((Some(date("2026-01-16")), Asap))
        );
        let december = "2026-12-20T22:00:00+00:00";
        assert_eq!(
            cue("next month", december),
            Some((Some(date("2027-01-01")), Eventually))
        );
        assert_eq!(
            cue("tomorrow", december),
            Some((Some(date("2026-12-21")), Soon))
        );
    }

    #[test]
    fn priorities_follow_words_then_distance() {
        assert_eq!(cue("asap", RECORDED), Some((None, Asap)));
        assert_eq!(cue("right now", RECORDED), Some((None, Asap)));
        assert_eq!(cue("soon", RECORDED), Some((None, Soon)));
        assert_eq!(cue("this week", RECORDED), Some((None, Soon)));
        assert_eq!(
            cue("when I get a chance", RECORDED),
            Some((None, Eventually))
        );
        assert_eq!(
            cue("later today", RECORDED),
            Some((Some(date("2026-01-14")), Asap))
        );
        let today = date("2026-01-14");
        assert_eq!(priority_for(Some(today), today), Asap);
        assert_eq!(priority_for(Some(date("2026-01-21")), today), Soon);
        assert_eq!(priority_for(Some(date("2026-01-22")), today), Eventually);
        assert_eq!(priority_for(None, today), Eventually);
    }

    #[test]
    fn removes_fillers_only() {
        let cases = [
            ("Um, so I went home.", "So I went home."),
            ("I went home um.", "I went home."),
            ("It was, like, really fun", "It was really fun"),
            ("I like apples", "I like apples"),
            ("it was you know fine", "it was fine"),
            ("do you know where it is", "do you know where it is"),
            ("I mean, it works. Hmm. Erm okay", "It works. Okay"),
            ("I mean it", "I mean it"),
            ("sort of, maybe", "maybe"),
            ("I sort of like it", "I sort of like it"),
            ("two  spaces\nand uh... a line", "two spaces and a line"),
            ("café, uh, crème brûlée", "café crème brûlée"),
        ];
        for (said, want) in cases {
            assert_eq!(remove_fillers(said), want, "{said:?}");
        }
    }

    #[test]
    fn strips_recogniser_noise() {
        let cleaned = strip_noise("[music] hello (coughs) there ♪");
        assert_eq!(
            cleaned.split_whitespace().collect::<Vec<_>>(),
            ["hello", "there"]
        );
        assert!(organize("(music) [BLANK_AUDIO]").discard);
    }

    #[test]
    fn splits_unpunctuated_speech_at_cues() {
        let text = Text::new("so I think I should call Sam and then I feel better".to_string());
        let clauses: Vec<&str> = split_clauses(&text, 0..text.toks.len())
            .into_iter()
            .map(|r| text.slice(r))
            .collect();
        assert_eq!(clauses, ["I think I should call Sam", "I feel better"]);
    }

    #[test]
    fn category_comes_from_the_input_list() {
        let said = "Note: an app feature where users could export data";
        let category = |cats: &[&str]| {
            let cats: Vec<String> = cats.iter().map(|c| c.to_string()).collect();
            organize_at(said, RECORDED, &cats).notes[0].category.clone()
        };
        assert_eq!(category(&["General", "Feature Idea"]), "Feature Idea");
        assert_eq!(category(&["Ideas", "General"]), "General");
        assert_eq!(category(&["Ideas", "Reading"]), "Ideas");
        assert_eq!(category(&[]), "feature idea");
    }

    #[test]
    fn note_content_and_tags() {
        let org = organize("Note budget meeting with the family about the vacation");
        let note = &org.notes[0];
        assert_eq!(
            note.title,
            "Budget meeting with the family about the vacation"
        );
        assert_eq!(
            note.content,
            "Budget meeting with the family about the vacation."
        );
        assert_eq!(note.tags, ["money", "work", "family"]);
        let org = organize("Note the new logo looks great #Design");
        assert_eq!(org.notes[0].title, "The new logo looks great");
        assert_eq!(org.notes[0].tags, ["design"]);
        assert!(
            organize("note to self the wifi password is on the fridge").notes[0]
                .tags
                .is_empty()
        );
    }

    #[test]
    fn todo_description_is_the_spoken_clause() {
        let org = organize("remind me to call mom and buy milk. I felt fine.");
        assert_eq!(
            org.todos[1].description,
            "Remind me to call mom and buy milk."
        );
        assert_eq!(org.journal[0].mood.as_deref(), Some("okay"));
    }

    #[test]
    fn titles_and_summaries() {
        let org = organize("Journal: today was a long day. I'm tired but happy.");
        assert_eq!(org.title, "Journal – January 14");
        assert_eq!(org.summary, "A journal entry (mood: okay).");
        let org = organize(
            "Remind me to call the vet tomorrow. I felt really anxious this morning. Also, the app \
             could have a weekly summary email.",
        );
        assert_eq!(org.title, "Call the vet");
        let want = "1 todo, a note (\"The app could have a weekly summary email\") and a journal \
                    entry (mood: bad).";
        assert_eq!(org.summary, want);
        assert_eq!(
            organize("Remind me to call mom and buy milk").summary,
            "2 todos."
        );
        assert_eq!(
            organize("").summary,
            "Nothing to organize: the memo has no usable speech."
        );
        assert_eq!(
            truncate_words(&"word ".repeat(30), 22),
            "word word word word"
        );
    }

    #[test]
    fn organizer_trait_is_deterministic_and_serializes_the_contract() {
        let input = OrganizeInput {
            transcript: "Call the bank right now, it's urgent",
            recorded_at: at(RECORDED),
            categories: &[],
        };
        let first = RulesOrganizer
            .organize(&input)
            .expect("rules never fail")
            .org;
        assert_eq!(first, organize_rules(&input));
        let json = serde_json::to_value(&first).expect("serializes");
        assert_eq!(json["todos"][0]["priority"], "asap");
        assert_eq!(json["todos"][0]["due"], serde_json::Value::Null);
        assert_eq!(json["discard"], false);
    }
}
