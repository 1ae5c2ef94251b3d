"""Word lists the synthetic corpus is drawn from (topics, hashtags, phrases, names, bios).

All text is invented for the sandbox; it only mimics the *properties* of real data (emoji,
right-to-left scripts, newlines, mixed-case hashtags, masked phone numbers in comments).
"""

from __future__ import annotations

# topic -> (weight, hashtags (most popular first), description phrases)
TOPICS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "cats": (
        0.09,
        ("cats", "catsoftiktok", "cattok", "kitten", "catlover", "catfishing", "Pets"),
        (
            "morning walk with the cat",
            "every year I aspire to be more like my cat ✨",
            "happy cats ❤️",
            "he is so tiny, say hi!",
            "my cat judging my cooking",
            "Taco Time",
        ),
    ),
    "dogs": (
        0.06,
        ("dogs", "dogsoftiktok", "puppy", "doglover", "goldenretriever"),
        ("first day home with the puppy 🐶", "walkies in the rain", "he heard the word treat"),
    ),
    "food": (
        0.10,
        ("food", "foodtok", "recipe", "cooking", "easyrecipe", "taco", "healthyfood"),
        (
            "easy pasta recipe in 10 minutes 🍝",
            "street food tour",
            "what I eat in a day",
            "grandma's secret recipe",
            "hello world of home cooking",
        ),
    ),
    "climate": (
        0.06,
        ("climate", "climatechange", "climateaction", "sustainability", "globalwarming", "ecotok"),
        (
            "climate change explained in 60 seconds",
            "the heatwave this summer is not normal",
            "how to cut your carbon footprint",
            "flooding in our town again",
        ),
    ),
    "election": (
        0.07,
        ("election", "election2024", "vote", "politics", "debate", "democracy", "Elections2024"),
        (
            "election night reactions",
            "the debate in 60 seconds",
            "go vote! polls close at 8",
            "what the election means for students",
        ),
    ),
    "music": (
        0.09,
        ("music", "singing", "cover", "newsong", "dance", "dancechallenge", "kpop"),
        (
            "singing in the car again 🎤",
            "new song out now",
            "learn this dance with me",
            "cover of my favourite song",
        ),
    ),
    "sports": (
        0.07,
        ("football", "soccer", "nba", "sports", "trainingseason", "gym", "fitness", "olympics"),
        (
            "leg day never again 💪",
            "what a goal",
            "training season starts now",
            "olympics highlights",
        ),
    ),
    "science": (
        0.05,
        ("science", "physics", "stem", "learnontiktok", "edutok", "space", "chemistry"),
        (
            "STEM fact of the day",
            "why the sky is blue",
            "a tiny physics experiment",
            "space news this week 🚀",
        ),
    ),
    "beauty": (
        0.08,
        ("makeup", "beauty", "skincare", "grwm", "ootd", "fashion"),
        (
            "get ready with me",
            "skincare routine for dry skin",
            "outfit of the day",
            "makeup tutorial 💄",
        ),
    ),
    "gaming": (
        0.06,
        ("gaming", "minecraft", "fortnite", "gamer", "gta6"),
        ("clutch moment", "minecraft build tour", "rage quit compilation 😂"),
    ),
    "travel": (
        0.06,
        ("travel", "traveltok", "vacation", "beach", "wanderlust"),
        ("hidden gems in Lisbon", "24 hours in Tokyo", "beach day 🌊", "packing tips"),
    ),
    "comedy": (
        0.08,
        ("funny", "comedy", "meme", "pov", "prank", "duet"),
        ("pov: it's monday", "duet with @someone", "lol", "Catch it?", "wait for it 😂"),
    ),
    "news": (
        0.04,
        ("news", "breakingnews", "worldnews", "ukraine", "gaza"),
        ("breaking news explained", "what happened today", "news in 60 seconds"),
    ),
    "arabic": (
        0.03,
        ("تيك_توك", "مثال", "explore", "السعودية"),
        ("مرحبا بكم في قناتي", "يوم جميل", "شكرا للمتابعة"),
    ),
    "spanish": (
        0.04,
        ("dominicanas", "cubanosporelmundo🇨🇺", "parati", "humor", "viral_es"),
        ("Y ke comes", "cuando tu mamá te llama", "hola a todos"),
    ),
    "books": (
        0.02,
        ("booktok", "books", "reading", "bookrecommendations"),
        ("books that made me cry 📚", "my reading list for the summer"),
    ),
}

GENERAL_HASHTAGS: tuple[str, ...] = (
    "fyp",
    "foryou",
    "viral",
    "foryoupage",
    "trending",
    "fy",
    "tiktok",
)

EMOJI: tuple[str, ...] = ("", "", "", " 😂", " ❤️", " 🔥", " ✨", " 🥰", " 🙏", " 😭")

VOICE_PHRASES: tuple[str, ...] = (
    "Look at him, he is so tiny. Say hi!",
    "Okay so today we are going to talk about something important.",
    "Hi guys, welcome back to my channel.",
    "You will not believe what happened next.",
    "Let me show you how I do it step by step.",
    "This is the best thing I have ever tasted.",
    "Vote early, vote often, just kidding, vote once.",
    "The temperature record was broken again this week.",
)

FIRST = (
    "sam", "alex", "maria", "lina", "joe", "noor", "kim", "ana", "leo", "mia", "omar", "zoe",
    "yuki", "ivan", "sara", "nico", "emma", "ali", "chen", "lucas",
)  # fmt: skip
WORDS = (
    "sunny", "daily", "real", "its", "the", "official", "tiny", "vibes", "cooks", "travels",
    "cat", "dog", "music", "bookish", "gamer", "fit", "news", "sample", "creator", "demo",
)  # fmt: skip

DISPLAY_DECOR: tuple[str, ...] = ("", "", "", "👑 ", "🫧 ", "✨", " 🥀", "🌸 ")
DISPLAY_NAMES_INTL: tuple[str, ...] = (
    "Nâu Thị",
    "سامي",
    "ليلى",
    "小明",
    "Jürgen",
    "Zoë",
    "Łukasz",
    "דנה",
)

BIOS: tuple[str, ...] = (
    "",
    "",
    "",
    "just vibes ✨",
    "cat mom 🐱\nNYC",
    "📍 Berlin\nbusiness: mail in bio",
    "مرحبا! أحب الطبخ 🍲",
    "שלום 👋 music & travel",
    "climate scientist 🌍\nviews my own",
    "link below ⬇️",
    "18 | 🇧🇷 | futebol",
    "書くのが好き ✍️",
)

COMMENT_TEXTS: tuple[str, ...] = (
    "",
    "",
    "OMG so cute",
    "AWEEEEEE 🥰🥰🥰",
    "heart melting",
    "first!",
    "this is so true 😂",
    "where is this?",
    "call me 40******30",
    "a*******@******************** for collabs",
    "لا أصدق هذا",
    "need the recipe pls",
    "who else is here in 2024",
    "the way he looked at the camera",
    "🔥🔥🔥",
    "not the ending 😭",
)

STICKERS: tuple[str, ...] = ("Poll", "Question", "Countdown", "Location", "Link", "Add Yours")
EFFECT_NAMES: tuple[str, ...] = (
    "Green Screen",
    "Time Warp Scan",
    "Bling",
    "Inverted",
    "Slow Zoom",
    "AI Manga",
)

# region code -> weight (the other codes of api-notes §4 share the remaining mass)
REGION_WEIGHTS: dict[str, float] = {
    "US": 0.24, "GB": 0.06, "DE": 0.05, "FR": 0.05, "BR": 0.06, "ID": 0.06, "MX": 0.04, "TR": 0.03,
    "IT": 0.03, "ES": 0.03, "PH": 0.03, "VN": 0.03, "SA": 0.02, "IQ": 0.01, "EG": 0.02, "PK": 0.02,
    "TH": 0.02, "JP": 0.02, "CA": 0.02, "AU": 0.02, "NL": 0.01, "PL": 0.01, "AR": 0.01, "CO": 0.01,
}  # fmt: skip

SHOP_WORDS = (
    "Glow",
    "Urban",
    "Cosy",
    "Nordic",
    "Happy",
    "Bright",
    "Little",
    "Royal",
    "Green",
    "Pixel",
)
SHOP_KINDS = (
    "Beauty",
    "Home",
    "Pets",
    "Tech",
    "Kitchen",
    "Fashion",
    "Books",
    "Toys",
    "Sports",
    "Garden",
)
SHOP_SUFFIX = ("UK", "DE", "FR", "Store", "Shop", "Official", "EU")
PRODUCT_NOUNS = (
    "Serum",
    "Mug",
    "Cat Tree",
    "Phone Case",
    "Pan",
    "Hoodie",
    "Notebook",
    "Lamp",
    "Yoga Mat",
    "Plushie",
)
REVIEW_TEXTS = (
    " test Text",
    "Great quality, fast delivery",
    "Not as pictured 😕",
    "My cat loves it!!",
    "Sehr gut, gerne wieder",
    "Très bien",
    "",
    "Broke after two weeks",
)
CURRENCIES = ("GBP", "EUR")
