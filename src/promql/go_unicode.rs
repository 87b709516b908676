//! The Unicode class names Go's `regexp/syntax` accepts in `\pL`, `\p{Greek}` and `\P{Greek}`,
//! and the name the `regex` crate knows each class by.
//!
//! Go looks names up in its `unicode` tables: the general categories (`L`, `Lu`, ... `Zs`), the
//! scripts (`Greek`, `Old_Italic`, ...) and `Any`. Go 1.25 added `Cn`, `LC`, `ASCII`, `Assigned`
//! and Unicode's category aliases (`Letter`, `Uppercase_Letter`, `digit`, `punct`, ...), and
//! compares names ignoring ASCII case, spaces, `_` and `-`; before 1.25 a name had to be spelled
//! exactly. Prometheus servers are built with Go versions on both sides of that change, so a
//! name is accepted here when some Go version accepts it, and every name is compared the loose
//! way. That is more lenient than Go in one place: Go 1.25's `parse.go` canonicalises the name
//! (`Old_Italic` to `Olditalic`) before looking it up among the script names, which keep their
//! `_` and inner capitals, so it looks as if such scripts (`Old_Italic`, `SignWriting`) are only
//! found by older Go, and only when spelled exactly; here they are accepted in any spelling. A
//! wrong guess this way costs a missed error, never the refusal of a regex Prometheus runs.
//!
//! The script list is Go 1.27's (Unicode 17). The crate's tables are Unicode 16: scripts added in
//! Unicode 17 are translated to `Cn` (unassigned), which holds their code points in those tables.
//! Surrogates (`Cs`), which the crate has no class for, become the empty class `\P{Any}`. Only
//! whether the translated regex compiles and matches the empty string is used, and neither
//! depends on which characters a class holds.
//!
//! Not here: parsing `\p` escapes and the error for an unknown name (`go_regex`).

/// General categories, as in Go's `unicode.Categories` (with `Cn` and `LC` since Go 1.25); the
/// crate knows them by the same names.
const CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Cn", "Co", "Cs", "L", "LC", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me",
    "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk",
    "Sm", "So", "Z", "Zl", "Zp", "Zs",
];

/// Go's special names (`Any` always; `ASCII` and `Assigned` since Go 1.25), which the crate
/// also knows.
const SPECIAL: &[&str] = &["Any", "ASCII", "Assigned"];

/// Unicode's aliases of the general categories (Go's `unicode.CategoryAliases`, Go 1.25 on), with
/// the category each stands for.
const CATEGORY_ALIASES: &[(&str, &str)] = &[
    ("Other", "C"),
    ("Control", "Cc"),
    ("cntrl", "Cc"),
    ("Format", "Cf"),
    ("Unassigned", "Cn"),
    ("Private_Use", "Co"),
    ("Surrogate", "Cs"),
    ("Letter", "L"),
    ("Cased_Letter", "LC"),
    ("Lowercase_Letter", "Ll"),
    ("Modifier_Letter", "Lm"),
    ("Other_Letter", "Lo"),
    ("Titlecase_Letter", "Lt"),
    ("Uppercase_Letter", "Lu"),
    ("Mark", "M"),
    ("Combining_Mark", "M"),
    ("Spacing_Mark", "Mc"),
    ("Enclosing_Mark", "Me"),
    ("Nonspacing_Mark", "Mn"),
    ("Number", "N"),
    ("Decimal_Number", "Nd"),
    ("digit", "Nd"),
    ("Letter_Number", "Nl"),
    ("Other_Number", "No"),
    ("Punctuation", "P"),
    ("punct", "P"),
    ("Connector_Punctuation", "Pc"),
    ("Dash_Punctuation", "Pd"),
    ("Close_Punctuation", "Pe"),
    ("Final_Punctuation", "Pf"),
    ("Initial_Punctuation", "Pi"),
    ("Other_Punctuation", "Po"),
    ("Open_Punctuation", "Ps"),
    ("Symbol", "S"),
    ("Currency_Symbol", "Sc"),
    ("Modifier_Symbol", "Sk"),
    ("Math_Symbol", "Sm"),
    ("Other_Symbol", "So"),
    ("Separator", "Z"),
    ("Line_Separator", "Zl"),
    ("Paragraph_Separator", "Zp"),
    ("Space_Separator", "Zs"),
];

/// Scripts in Go's `unicode.Scripts` that the crate knows by the same name (Unicode 16).
const SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cypro_Minoan",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Garay",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Gurung_Khema",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kawi",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Kirat_Rai",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nag_Mundari",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Ol_Onal",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Old_Uyghur",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Sunuwar",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangsa",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Todhri",
    "Toto",
    "Tulu_Tigalari",
    "Ugaritic",
    "Vai",
    "Vithkuqi",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// Scripts Go knows from Unicode 17 that the crate's Unicode 16 tables lack.
const NEWER_SCRIPTS: &[&str] = &["Beria_Erfe", "Sidetic", "Tai_Yo", "Tolong_Siki"];

/// How the crate spells a class Go knows: `\p{name}`, or `\P{name}` when `complement`.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct CrateClass {
    pub(super) name: &'static str,
    pub(super) complement: bool,
}

/// The crate's spelling of the class Go calls `name` (without `\p{`, `}` or a leading `^`), or
/// `None` when no Go version knows the name.
pub(super) fn crate_class(name: &str) -> Option<CrateClass> {
    let found = |names: &'static [&'static str]| names.iter().copied().find(|n| loose_eq(n, name));
    let go_name = found(CATEGORIES)
        .or_else(|| found(SPECIAL))
        .or_else(|| found(SCRIPTS))
        .or_else(|| found(NEWER_SCRIPTS).map(|_| "Cn"))
        .or_else(|| {
            CATEGORY_ALIASES
                .iter()
                .find(|(alias, _)| loose_eq(alias, name))
                .map(|&(_, category)| category)
        })?;
    Some(match go_name {
        // Surrogates never occur in the UTF-8 text either side matches, and the crate has no
        // `Cs`: it is the empty class.
        "Cs" => CrateClass {
            name: "Any",
            complement: true,
        },
        name => CrateClass {
            name,
            complement: false,
        },
    })
}

/// Equal ignoring ASCII case, spaces, `_` and `-`, as Go 1.25 compares class names.
fn loose_eq(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        s.chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_go_names() -> impl Iterator<Item = &'static str> {
        CATEGORIES
            .iter()
            .chain(SPECIAL)
            .chain(SCRIPTS)
            .chain(NEWER_SCRIPTS)
            .copied()
            .chain(CATEGORY_ALIASES.iter().map(|(alias, _)| *alias))
    }

    #[test]
    fn every_go_name_maps_to_a_class_the_crate_compiles() {
        for name in all_go_names() {
            let class = crate_class(name)
                .unwrap_or_else(|| panic!("{name} not found"))
                .name;
            for re in [format!(r"\p{{{class}}}"), format!(r"[^a\P{{{class}}}]")] {
                assert!(regex::Regex::new(&re).is_ok(), "{name} -> {re}");
            }
        }
    }

    #[test]
    fn loose_spellings_do_not_collide() {
        let mut keys: Vec<String> = all_go_names()
            .map(|n| n.replace(['_', '-', ' '], "").to_ascii_lowercase())
            .collect();
        let total = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(
            keys.len(),
            total,
            "two Go names differ only in case or separators"
        );
    }

    fn found(name: &str) -> Option<&'static str> {
        crate_class(name).map(|c| c.name)
    }

    #[test]
    fn names_are_found_as_any_go_version_spells_them() {
        assert_eq!(found("Greek"), Some("Greek"));
        assert_eq!(found("L"), Some("L"));
        assert_eq!(found("Lu"), Some("Lu"));
        assert_eq!(found("Any"), Some("Any"));
        assert_eq!(found("Old_Italic"), Some("Old_Italic"));
        // Go 1.25 on: loose spellings, aliases and the added names.
        assert_eq!(found("greek"), Some("Greek"));
        assert_eq!(found("lu"), Some("Lu"));
        assert_eq!(found("Uppercase Letter"), Some("Lu"));
        assert_eq!(found("digit"), Some("Nd"));
        assert_eq!(found("Lc"), Some("LC"));
        assert_eq!(found("ascii"), Some("ASCII"));
        assert_eq!(found("Assigned"), Some("Assigned"));
        // Go 1.27 (Unicode 17), newer than the crate's tables.
        assert_eq!(found("Sidetic"), Some("Cn"));
    }

    #[test]
    fn surrogates_are_the_empty_class() {
        let empty = Some(CrateClass {
            name: "Any",
            complement: true,
        });
        assert_eq!(crate_class("Cs"), empty);
        assert_eq!(crate_class("Surrogate"), empty);
    }

    #[test]
    fn unknown_names_are_not_found() {
        for name in [
            "",
            "Foo",
            "Latn",
            "Grek",
            "Alphabetic",
            "Greek:",
            "sc=Greek",
            "Unknown",
            "Lx",
            "Λ",
        ] {
            assert_eq!(crate_class(name), None, "{name:?}");
        }
    }
}
