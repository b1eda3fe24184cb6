//! The tag vocabulary of a sequence-labelling task: tags to ids and back, built from the
//! training sentences only, saved as JSON, with an explicit policy for tags the training data
//! never showed; and conlleval-style chunking of BIO tags into entity spans.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::conll::Sentence;
use crate::error::{DataError, Location, Result};

/// Tags and their ids. Ids follow the **alphabetical** (Unicode code point) order of the
/// tags, so the same training tags give the same ids whatever the order of the sentences
/// (with CoNLL-2003 NER tags, `B-LOC` is 0 and `O` is 8).
///
/// Saved as JSON `{"tags": ["B-LOC", …]}` with [`TagVocab::save`]; the position of a tag in
/// the list is its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "TagVocabFile", into = "TagVocabFile")]
pub struct TagVocab {
    /// The tags, sorted; the index is the id.
    tags: Vec<String>,
    /// Tag to id.
    index: HashMap<String, u32>,
}

/// The JSON form of a [`TagVocab`].
#[derive(Serialize, Deserialize)]
struct TagVocabFile {
    /// The tags in id order.
    tags: Vec<String>,
}

impl TryFrom<TagVocabFile> for TagVocab {
    type Error = String;

    fn try_from(file: TagVocabFile) -> std::result::Result<Self, String> {
        let mut index = HashMap::with_capacity(file.tags.len());
        for (id, tag) in file.tags.iter().enumerate() {
            if tag.is_empty() {
                return Err(format!("tag {id} is empty"));
            }
            let id = u32::try_from(id).map_err(|_| "more than 2^32 tags".to_owned())?;
            if let Some(first) = index.insert(tag.clone(), id) {
                return Err(format!("tag {tag:?} appears twice (ids {first} and {id})"));
            }
        }
        Ok(Self {
            tags: file.tags,
            index,
        })
    }
}

impl From<TagVocab> for TagVocabFile {
    fn from(vocab: TagVocab) -> Self {
        Self { tags: vocab.tags }
    }
}

/// What [`TagVocab::encode_sentences`] does with a tag the vocabulary does not have (a tag
/// seen in validation or test data but never in training).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UnknownTag {
    /// Stop with [`DataError::UnknownLabel`] naming the file, the line and the known tags
    /// (the default: an unseen tag usually means mismatched files).
    #[default]
    Error,
    /// Replace it with this tag (e.g. `"O"`), which must itself be in the vocabulary.
    MapTo(String),
    /// Drop every sentence holding an unknown tag.
    Skip,
}

/// The tag ids of sentences, from [`TagVocab::encode_sentences`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedTags {
    /// The tag ids of each kept sentence, in order.
    pub ids: Vec<Vec<u32>>,
    /// For each entry of `ids`, the index of its sentence in the input: all of `0..n` except
    /// under [`UnknownTag::Skip`], where sentences with unknown tags are missing. Use it to
    /// pick the tokens that go with `ids`.
    pub kept: Vec<usize>,
    /// How many tags [`UnknownTag::MapTo`] replaced (0 under the other policies).
    pub replaced: usize,
}

impl EncodedTags {
    /// How many input sentences [`UnknownTag::Skip`] dropped, given the input count.
    pub fn skipped(&self, input_sentences: usize) -> usize {
        input_sentences.saturating_sub(self.kept.len())
    }
}

impl TagVocab {
    /// The vocabulary of the tags of `sentences` (the training sentences only).
    pub fn from_sentences(sentences: &[Sentence]) -> Self {
        Self::from_tags(sentences.iter().flat_map(|sentence| &sentence.tags))
    }

    /// The vocabulary of `tags` (duplicates are merged; empty strings are ignored).
    pub fn from_tags<I>(tags: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let set: BTreeSet<String> = tags
            .into_iter()
            .filter(|tag| !tag.as_ref().is_empty())
            .map(|tag| tag.as_ref().to_owned())
            .collect();
        let tags: Vec<String> = set.into_iter().collect();
        let index = tags
            .iter()
            .zip(0u32..)
            .map(|(tag, id)| (tag.clone(), id))
            .collect();
        Self { tags, index }
    }

    /// The id of `tag`, if the vocabulary has it.
    pub fn id(&self, tag: &str) -> Option<u32> {
        self.index.get(tag).copied()
    }

    /// The tag of `id`, if there is one.
    pub fn tag(&self, id: u32) -> Option<&str> {
        self.tags.get(usize::try_from(id).ok()?).map(String::as_str)
    }

    /// The number of tags (the size of a tagger's output layer).
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    /// Whether there are no tags.
    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// The tags in id order.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// The id of `tag`, or [`DataError::UnknownLabel`] at `at` listing the known tags.
    pub fn encode(&self, tag: &str, at: &Location) -> Result<u32> {
        self.id(tag).ok_or_else(|| self.unknown(tag, at.clone()))
    }

    /// [`DataError::UnknownLabel`] for `tag` at `at`.
    fn unknown(&self, tag: &str, at: Location) -> DataError {
        DataError::UnknownLabel {
            at,
            kind: "tag",
            label: tag.to_owned(),
            known: self.tags.clone(),
        }
    }

    /// The tag ids of `sentences`, with `policy` for tags the vocabulary lacks. Errors name
    /// `path_for_errors` and the line of the token (from [`Sentence::line`]; just the file for
    /// sentences built in memory). [`UnknownTag::MapTo`] a tag the vocabulary does not have is
    /// [`DataError::Invalid`], whether or not an unknown tag occurs.
    pub fn encode_sentences(
        &self,
        sentences: &[Sentence],
        policy: &UnknownTag,
        path_for_errors: &Path,
    ) -> Result<EncodedTags> {
        let fallback = match policy {
            UnknownTag::MapTo(target) => Some(self.id(target).ok_or_else(|| {
                DataError::invalid(
                    "unknown-tag policy",
                    format!(
                        "cannot map unknown tags to {target:?}: it is not a tag of the \
                         vocabulary (known: {})",
                        self.tags.join(", ")
                    ),
                )
            })?),
            UnknownTag::Error | UnknownTag::Skip => None,
        };
        let mut encoded = EncodedTags::default();
        'sentences: for (number, sentence) in sentences.iter().enumerate() {
            let mut ids = Vec::with_capacity(sentence.tags.len());
            for (offset, tag) in sentence.tags.iter().enumerate() {
                let id = match (self.id(tag), policy, fallback) {
                    (Some(id), _, _) => id,
                    (None, UnknownTag::Skip, _) => continue 'sentences,
                    (None, UnknownTag::MapTo(_), Some(id)) => {
                        encoded.replaced += 1;
                        id
                    }
                    (None, _, _) => {
                        let at = if sentence.line > 0 {
                            Location::line(path_for_errors, sentence.line + offset)
                        } else {
                            Location::file(path_for_errors)
                        };
                        return Err(self.unknown(tag, at));
                    }
                };
                ids.push(id);
            }
            encoded.ids.push(ids);
            encoded.kept.push(number);
        }
        Ok(encoded)
    }

    /// The tags of `ids`, or `None` if an id is out of range.
    pub fn decode(&self, ids: &[u32]) -> Option<Vec<&str>> {
        ids.iter().map(|&id| self.tag(id)).collect()
    }

    /// Whether the tags look like BIO (IOB2): at least one tag, and every tag is `O` or
    /// `B-TYPE` / `I-TYPE` with a non-empty type. Entity-level scores need this.
    pub fn is_bio(&self) -> bool {
        !self.tags.is_empty() && self.tags.iter().all(|tag| is_bio_tag(tag))
    }

    /// Writes the vocabulary as JSON to `path` (atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::io::save_json(path, self)
    }

    /// Reads a vocabulary written by [`TagVocab::save`]; a malformed file, an empty tag or
    /// a duplicate tag is [`DataError::Json`].
    pub fn load(path: &Path) -> Result<Self> {
        crate::io::load_json(path)
    }
}

/// Whether `tag` is `O`, `B-TYPE` or `I-TYPE` with a non-empty type.
pub fn is_bio_tag(tag: &str) -> bool {
    tag == "O"
        || tag
            .strip_prefix("B-")
            .or_else(|| tag.strip_prefix("I-"))
            .is_some_and(|kind| !kind.is_empty())
}

/// The chunk role of a tag, as conlleval reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `B-`: begins a chunk.
    Begin,
    /// `I-` (and anything that is not one of the others): inside a chunk.
    Inside,
    /// `E-`: ends a chunk.
    End,
    /// `S-`: a one-token chunk.
    Single,
    /// `O`: outside any chunk.
    Outside,
}

/// The role and the type of `tag`: `O` is outside; `B-X`, `I-X`, `E-X`, `S-X` have type `X`;
/// any other tag is inside a chunk whose type is the whole tag (IO tagging).
fn role(tag: &str) -> (Role, &str) {
    if tag == "O" {
        return (Role::Outside, "");
    }
    match tag.split_once('-') {
        Some(("B", kind)) => (Role::Begin, kind),
        Some(("I", kind)) => (Role::Inside, kind),
        Some(("E", kind)) => (Role::End, kind),
        Some(("S", kind)) => (Role::Single, kind),
        _ => (Role::Inside, tag),
    }
}

/// Whether a chunk ends between a token tagged `prev` and one tagged `cur` (conlleval's
/// `endOfChunk`).
fn ends(prev: (Role, &str), cur: (Role, &str)) -> bool {
    use Role::*;
    match (prev.0, cur.0) {
        (Begin | Inside, Begin | Single | Outside) => true,
        (End | Single, _) => true,
        (Outside, _) => false,
        _ => prev.1 != cur.1,
    }
}

/// Whether a chunk starts at a token tagged `cur` after one tagged `prev` (conlleval's
/// `startOfChunk`).
fn starts(prev: (Role, &str), cur: (Role, &str)) -> bool {
    use Role::*;
    match (prev.0, cur.0) {
        (_, Begin | Single) => true,
        (End | Single | Outside, End | Inside) => true,
        (_, Outside) => false,
        _ => prev.1 != cur.1,
    }
}

/// The entity chunks of a tag sequence as `(start, end, type)` with `end` exclusive, in
/// order, chunked like conlleval: `B-X` starts a chunk; `I-X` continues a chunk of type `X`
/// and starts a new one after `O` or after a chunk of another type; `O` ends a chunk. IOBES
/// tags (`E-X` ends a chunk, `S-X` is a one-token chunk) are read the conlleval way too, and a
/// tag without such a prefix (other than `O`) is an `I-` tag whose type is the whole tag.
///
/// ```
/// use recurrent_data::tags::bio_spans;
/// let spans = bio_spans(&["B-PER", "I-PER", "O", "I-LOC", "B-LOC"]);
/// assert_eq!(spans, vec![
///     (0, 2, "PER".to_string()),
///     (3, 4, "LOC".to_string()),
///     (4, 5, "LOC".to_string()),
/// ]);
/// ```
pub fn bio_spans(tags: &[&str]) -> Vec<(usize, usize, String)> {
    let mut spans = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut prev = (Role::Outside, "");
    for (i, tag) in tags.iter().enumerate() {
        let cur = role(tag);
        if ends(prev, cur)
            && let Some((start, kind)) = open.take()
        {
            spans.push((start, i, kind.to_owned()));
        }
        if starts(prev, cur) {
            if let Some((start, kind)) = open.take() {
                spans.push((start, i, kind.to_owned()));
            }
            open = Some((i, cur.1));
        }
        prev = cur;
    }
    if let Some((start, kind)) = open {
        spans.push((start, tags.len(), kind.to_owned()));
    }
    spans
}
