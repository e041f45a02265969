"""Seeded scene composer: larger suites from pools of characters, situations and emotional arcs.

`compose_suite(n_scenes, seed)` is deterministic per (n_scenes, seed): every random choice comes
from `random.Random` seeded with a string (hashed with SHA-512, so independent of PYTHONHASHSEED
and of the platform). Scene ids are `composed-<seed>-<k>`; a few short dramas chain 3-5 scenes
with one fixed cast while location and time move on. Every composed scene passes the same
validation as a hand-written one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from scenes.schema import (
    Atmosphere,
    Character,
    Drama,
    Line,
    Music,
    Scene,
    Setting,
    Shot,
    SoundCue,
    Suite,
    Voice,
)
from scenes.vocabulary import (
    EMOTION_AFFECT,
    Angle,
    Brightness,
    Delivery,
    Emotion,
    Mood,
    Movement,
    Palette,
    ShotSize,
    TimeOfDay,
)

MAX_COMPOSED_SCENES = 10_000
SCENES_PER_DRAMA_SLOT = 8  # one drama per this many scenes (at least one when n >= 3)


@dataclass(frozen=True)
class CastMember:
    name: str
    look: str
    gender: str
    pitch: int
    rate: float

    def character(self) -> Character:
        return Character(id=self.name.lower(), name=self.name, look=self.look,
                         voice=Voice(gender=self.gender, pitch=self.pitch, rate=self.rate))


@dataclass(frozen=True)
class Situation:
    place: str  # how a line refers to it: "the diner"
    location: str
    interior: bool
    ambience: tuple[str, ...]
    sounds: tuple[str, ...]  # scripted cues, worded with the keywords sound probes listen for
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Arc:
    title: str
    mood: Mood
    music: Mood
    emotions: tuple[Emotion, ...]


CAST: tuple[CastMember, ...] = (
    CastMember("Ada", "tall, long green coat, red scarf, dark curls", "female", 1, 0.95),
    CastMember("Bram", "stocky, grey sweater, full beard", "male", -3, 0.9),
    CastMember("Chiara", "petite, yellow raincoat, freckles, two buns", "female", 5, 1.15),
    CastMember("Dev", "lanky, denim jacket, round glasses, stubble", "male", 1, 1.1),
    CastMember("Elif", "slim, black turtleneck, silver rings, bob haircut", "female", -1, 1.0),
    CastMember("Femi", "broad, orange hi-vis vest, shaved head", "male", -5, 0.85),
    CastMember("Greta", "elderly, lilac cardigan, pearl earrings, white bun", "female", 3, 0.8),
    CastMember("Hiro", "wiry, navy suit, loosened tie, spiky hair", "male", 2, 1.2),
    CastMember("Isla", "athletic, red tracksuit, blonde ponytail", "female", 2, 1.1),
    CastMember("Jonah", "heavyset, plaid flannel shirt, ginger beard", "male", -4, 0.9),
    CastMember("Kemi", "tall, emerald headwrap, gold hoops, white blouse", "female", 0, 1.0),
    CastMember("Luca", "slight, leather jacket, long dark hair tied back", "male", 0, 1.05),
    CastMember("Mina", "short, oversized hoodie, purple streaks in her hair", "female", 6, 1.2),
    CastMember("Nils", "gaunt, tweed coat, flat cap, walking stick", "male", -2, 0.8),
    CastMember("Olga", "sturdy, chef's whites, grey plait", "female", -3, 0.95),
    CastMember("Pavel", "muscular, tank top, tattooed arms, buzz cut", "male", -6, 1.0),
    CastMember("Quinn", "androgynous, green parka, cropped silver hair", "neutral", 0, 1.05),
    CastMember("Rosa", "curvy, floral dress, sunhat, red lipstick", "female", 1, 1.0),
    CastMember("Sami", "young, school blazer, braces, messy curls", "male", 5, 1.25),
    CastMember("Tova", "wiry, yellow oilskin, long grey braid", "female", -2, 0.9),
    CastMember("Umar", "tall, camel trench coat, neat moustache", "male", -1, 0.95),
    CastMember("Vesna", "slender, nurse's scrubs, glasses on a cord", "female", 0, 1.15),
    CastMember("Wes", "gangly, paint-stained overalls, sandy hair", "male", 3, 1.1),
    CastMember("Yara", "small, mustard coat, tortoiseshell glasses", "female", 4, 0.95),
)

SITUATIONS: tuple[Situation, ...] = (
    Situation("the laundromat", "late-night laundromat", True, ("dryers tumbling", "buzzing strip lights"),
              ("dryer buzzer", "door bell"), ("folds a shirt", "leans on a washing machine")),
    Situation("the diner", "roadside diner booth", True, ("coffee machine hiss", "jukebox playing low"),
              ("plate smash", "door bell"), ("stirs a coffee", "pushes the plate away")),
    Situation("the kitchen", "family kitchen", True, ("fridge hum", "kettle coming to the boil"),
              ("glass breaking", "door slam"), ("sets down a mug", "opens the fridge")),
    Situation("the office", "open-plan office", True, ("keyboards typing", "air conditioning"),
              ("phone ringing", "door knock"), ("closes the laptop", "drops a folder on the desk")),
    Situation("the hospital", "hospital waiting room", True, ("monitor beeps", "distant pager"),
              ("running footsteps", "phone ringing"), ("sits down heavily", "reads a clipboard")),
    Situation("the bar", "crowded neighbourhood bar", True, ("crowd chatter", "glasses clinking"),
              ("glass smash", "applause"), ("raises a glass", "slams the glass down")),
    Situation("the car", "parked car", True, ("rain on the roof", "engine ticking"),
              ("car horn", "car door slam"), ("grips the steering wheel", "switches off the engine")),
    Situation("the train", "night train carriage", True, ("wheels on rails", "muffled announcements"),
              ("train whistle", "phone buzz"), ("stares out of the window", "lifts a bag down")),
    Situation("the church", "empty stone church", True, ("echoing silence", "pigeons in the rafters"),
              ("church bell", "door creak"), ("lights a candle", "sits in the front pew")),
    Situation("the attic", "dusty attic", True, ("creaking beams", "wind on the roof"),
              ("thunder", "crash of a falling box"), ("opens an old trunk", "blows dust off a photo")),
    Situation("the street", "busy city street", False, ("traffic", "sirens far off"),
              ("car horn", "dog bark"), ("hails a taxi", "checks the street sign")),
    Situation("the beach", "windy beach", False, ("waves breaking", "gulls"),
              ("dog bark", "thunder"), ("skims a stone", "pulls off a shoe")),
    Situation("the woods", "forest trail", False, ("birdsong", "wind in the trees"),
              ("branch snap", "footsteps in the leaves"), ("stops on the path", "points into the trees")),
    Situation("the roof", "apartment rooftop", False, ("city hum", "wind"),
              ("fireworks bang", "door slam"), ("leans on the railing", "looks out over the city")),
    Situation("the park", "city park", False, ("children playing", "wind in the trees"),
              ("bicycle bell", "dog bark"), ("sits on the bench", "feeds the pigeons")),
    Situation("the harbour", "fishing harbour", False, ("water lapping", "gulls", "rigging clinking"),
              ("ship bell", "engine starting"), ("coils a rope", "jumps onto the pier")),
    Situation("the platform", "railway platform", False, ("station announcements", "idling engine"),
              ("train whistle", "station bell"), ("picks up a suitcase", "checks the departure board")),
    Situation("the car park", "multi-storey car park", False, ("echoing engines", "dripping water"),
              ("car alarm", "gunshot", "footsteps"), ("spins round", "ducks behind a pillar")),
    Situation("the garden", "back garden", False, ("bees", "distant lawnmower"),
              ("glass breaking", "door knock"), ("pulls up a weed", "sits on the grass")),
    Situation("the stadium", "stadium stands", False, ("crowd chanting", "stadium announcer"),
              ("referee whistle", "applause"), ("jumps to their feet", "waves a scarf")),
)

ARCS: tuple[Arc, ...] = (
    Arc("The quarrel", Mood.tense, Mood.tense, (Emotion.frustrated, Emotion.defensive, Emotion.angry, Emotion.bitter, Emotion.furious, Emotion.guilty)),
    Arc("Making up", Mood.warm, Mood.warm, (Emotion.guilty, Emotion.bitter, Emotion.sad, Emotion.pleading, Emotion.tender, Emotion.relieved)),
    Arc("The good news", Mood.joyful, Mood.joyful, (Emotion.curious, Emotion.surprised, Emotion.excited, Emotion.joyful, Emotion.happy)),
    Arc("Something outside", Mood.eerie, Mood.eerie, (Emotion.nervous, Emotion.anxious, Emotion.afraid, Emotion.desperate, Emotion.relieved)),
    Arc("The goodbye", Mood.melancholic, Mood.sad, (Emotion.sad, Emotion.melancholic, Emotion.tender, Emotion.loving, Emotion.hopeful)),
    Arc("The confession", Mood.tense, Mood.ominous, (Emotion.nervous, Emotion.guilty, Emotion.surprised, Emotion.angry, Emotion.calm)),
    Arc("A small disaster", Mood.playful, Mood.playful, (Emotion.confused, Emotion.sarcastic, Emotion.frustrated, Emotion.amused, Emotion.happy)),
    Arc("The question", Mood.romantic, Mood.romantic, (Emotion.nervous, Emotion.tender, Emotion.surprised, Emotion.loving, Emotion.joyful)),
    Arc("The warning", Mood.ominous, Mood.ominous, (Emotion.calm, Emotion.contemptuous, Emotion.afraid, Emotion.determined, Emotion.desperate)),
    Arc("The last push", Mood.triumphant, Mood.triumphant, (Emotion.determined, Emotion.anxious, Emotion.excited, Emotion.proud, Emotion.joyful)),
    Arc("After the funeral", Mood.sad, Mood.sad, (Emotion.sad, Emotion.melancholic, Emotion.guilty, Emotion.bitter, Emotion.tender)),
    Arc("The plan", Mood.hopeful, Mood.hopeful, (Emotion.curious, Emotion.determined, Emotion.nervous, Emotion.hopeful, Emotion.proud)),
    Arc("A quiet hour", Mood.calm, Mood.calm, (Emotion.calm, Emotion.amused, Emotion.curious, Emotion.tender, Emotion.neutral)),
    Arc("Boiling over", Mood.angry, Mood.angry, (Emotion.frustrated, Emotion.angry, Emotion.furious, Emotion.contemptuous, Emotion.desperate)),
)

# {name}: the addressee's name; {place}: the situation's place. Every phrase stays within 3-12 words.
PHRASES: dict[Emotion, tuple[str, ...]] = {
    Emotion.neutral: ("I heard what you said.", "Let's go over it again.", "It is what it is, {name}.", "We should decide something today."),
    Emotion.happy: ("This is the best news all year!", "I can't stop smiling, {name}.", "Everything worked out. Everything!", "You made my whole week."),
    Emotion.joyful: ("We did it! We actually did it!", "I could dance right here.", "Look at us, {name}! Look at us!", "Best day ever. I mean it."),
    Emotion.excited: ("Wait, wait, I have an idea!", "Come on, it's starting!", "You won't believe what I found.", "Tonight changes everything, {name}."),
    Emotion.amused: ("You should see your face.", "That's the worst plan I've ever heard.", "Oh, I'm telling everyone about this.", "Only you, {name}. Only you."),
    Emotion.tender: ("Come here. You're shaking.", "I'm not going anywhere, {name}.", "You did everything you could.", "Rest. I'll keep watch."),
    Emotion.loving: ("I'd do it all again with you.", "You're my favourite person, {name}.", "Stay. Just a little longer.", "I love you. Even now."),
    Emotion.calm: ("Let's sit down and breathe.", "We have time. Nobody's rushing.", "One thing at a time, {name}.", "It's quiet in {place}. I like it."),
    Emotion.relieved: ("Oh, thank God. Thank God.", "It's over. It's really over.", "I thought we'd lost it.", "You're okay. You're okay, {name}."),
    Emotion.hopeful: ("Maybe this time it works.", "Tomorrow could be different, {name}.", "We could start again in {place}.", "I have a good feeling about this."),
    Emotion.proud: ("I built this with my own hands.", "You should be proud, {name}.", "Nobody thought I could do it.", "Look what we made."),
    Emotion.determined: ("We finish this tonight.", "I'm not leaving without an answer.", "Give me the keys, {name}.", "Nobody stops now. Nobody."),
    Emotion.curious: ("What's in the box, {name}?", "Who told you about {place}?", "Wait. How do you know that?", "Show me. I want to see."),
    Emotion.surprised: ("You're here? Since when?", "That's impossible. I was just there.", "{name}? Is that really you?", "Nobody told me about this!"),
    Emotion.confused: ("I don't understand. Say that again.", "Which one of us is lost?", "Wait, that was yesterday?", "Why would anyone do that, {name}?"),
    Emotion.nervous: ("Do you think they noticed?", "I practised this in the mirror.", "Maybe we should just go, {name}.", "My hands won't stop shaking."),
    Emotion.anxious: ("They should have called by now.", "What if it happens again?", "I can't sleep, {name}. Not anymore.", "Something's wrong. I can feel it."),
    Emotion.afraid: ("Did you hear that?", "Don't open the door, {name}.", "Something is out there.", "Stay behind me. Please."),
    Emotion.sad: ("I miss how it used to be.", "He's not coming back, {name}.", "I kept the ticket. Stupid, right?", "Nothing in {place} feels like home."),
    Emotion.melancholic: ("This place was full of music once.", "We used to come here every summer.", "Funny how quiet it gets, {name}.", "Some things just fade."),
    Emotion.guilty: ("It was me. I did it.", "I should have told you sooner.", "I'm sorry, {name}. I really am.", "I knew, and I said nothing."),
    Emotion.bitter: ("Of course you'd say that.", "You always land on your feet, {name}.", "Thanks for nothing. Again.", "I gave you ten years."),
    Emotion.sarcastic: ("Oh great. Wonderful plan.", "Sure, {name}. That went so well last time.", "What a lovely surprise.", "Take your time. We're only drowning here."),
    Emotion.defensive: ("That's not what happened!", "I did my part, {name}.", "Don't look at me like that.", "You weren't even there."),
    Emotion.frustrated: ("I've explained this three times!", "Why does nothing in {place} ever work?", "Just listen to me, {name}.", "We're going in circles."),
    Emotion.angry: ("You lied to me, {name}!", "Get out. Get out now!", "How dare you come back here?", "I trusted you with everything!"),
    Emotion.furious: ("Don't you ever touch my things!", "I'm done. Done with all of you!", "You knew, {name}! You knew!", "Enough! Not one more word!"),
    Emotion.contemptuous: ("You're not worth the argument.", "Is that the best you can do?", "Spare me, {name}.", "People like you never change."),
    Emotion.desperate: ("Please, I'm begging you, {name}!", "There has to be another way!", "Help me! Somebody help me!", "I can't lose this too."),
    Emotion.pleading: ("Just give me one more chance.", "Please stay, {name}. Please.", "Hear me out. Just once.", "Don't make me do this alone."),
}

# (interior, time of day) -> lighting, brightness, palette
LIGHTING: dict[tuple[bool, TimeOfDay], tuple[str, Brightness, Palette]] = {
    (True, TimeOfDay.dawn): ("grey light through the blinds", Brightness.low, Palette.cool),
    (True, TimeOfDay.morning): ("soft window light", Brightness.normal, Palette.cool),
    (True, TimeOfDay.day): ("bright overhead lights", Brightness.bright, Palette.neutral),
    (True, TimeOfDay.afternoon): ("warm light slanting across the floor", Brightness.normal, Palette.warm),
    (True, TimeOfDay.dusk): ("orange sunset through the window", Brightness.low, Palette.warm),
    (True, TimeOfDay.evening): ("table lamps", Brightness.low, Palette.warm),
    (True, TimeOfDay.night): ("one bare bulb", Brightness.dark, Palette.warm),
    (False, TimeOfDay.dawn): ("pale sunrise", Brightness.low, Palette.cool),
    (False, TimeOfDay.morning): ("fresh morning sun", Brightness.bright, Palette.neutral),
    (False, TimeOfDay.day): ("hard midday sun", Brightness.bright, Palette.warm),
    (False, TimeOfDay.afternoon): ("hazy afternoon light", Brightness.normal, Palette.warm),
    (False, TimeOfDay.dusk): ("violet dusk sky", Brightness.low, Palette.cool),
    (False, TimeOfDay.evening): ("street lamps coming on", Brightness.low, Palette.warm),
    (False, TimeOfDay.night): ("moonlight and one street lamp", Brightness.dark, Palette.cool),
}

TIMES = tuple(TimeOfDay)
SHOUTY = {Emotion.angry, Emotion.furious, Emotion.desperate, Emotion.excited, Emotion.joyful}
HUSHED = {Emotion.afraid, Emotion.nervous, Emotion.anxious, Emotion.tender, Emotion.guilty, Emotion.loving}
INWARD = {Emotion.melancholic, Emotion.sad, Emotion.anxious, Emotion.hopeful, Emotion.guilty, Emotion.calm}


def _rng(*parts: object) -> random.Random:
    return random.Random("mtavg-composer/" + "/".join(str(p) for p in parts))


def _stretch(emotions: tuple[Emotion, ...], n: int) -> list[Emotion]:
    """The arc resampled to n lines, keeping its order (start, turn, end)."""
    return [emotions[min(len(emotions) - 1, i * len(emotions) // n)] for i in range(n)]


def _delivery(emotion: Emotion, rng: random.Random) -> Delivery:
    roll = rng.random()
    if emotion in SHOUTY and roll < 0.35:
        return Delivery.shout
    if emotion in HUSHED and roll < 0.3:
        return Delivery.whisper
    if emotion in INWARD and roll < 0.12:
        return Delivery.voice_over
    return Delivery.normal


def _lines(cast: list[Character], arc: Arc, situation: Situation, rng: random.Random) -> list[Line]:
    n = max(4, min(10, len(arc.emotions) + rng.randint(-1, 2)))
    used: set[str] = set()
    spoken: set[str] = set()
    lines: list[Line] = []
    speaker = rng.choice(cast)
    previous: Character | None = None
    for i, emotion in enumerate(_stretch(arc.emotions, n)):
        spoken.add(speaker.id)
        others = [c for c in cast if c.id != speaker.id]
        addressee = previous if previous is not None and previous.id != speaker.id else rng.choice(others)
        choices = [p for p in PHRASES[emotion] if p not in used] or list(PHRASES[emotion])
        phrase = rng.choice(choices)
        used.add(phrase)
        text = phrase.format(name=addressee.name, place=situation.place)
        delivery = _delivery(emotion, rng)
        free_actions = [a for a in situation.actions if a not in used]
        action = rng.choice(free_actions) if free_actions and rng.random() < 0.3 else None
        if action:
            used.add(action)
        lines.append(Line(
            speaker=speaker.id, text=text[0].upper() + text[1:], emotion=emotion, delivery=delivery,
            addressee=None if delivery is Delivery.voice_over else addressee.id, action=action,
        ))
        previous = speaker
        # everyone in the cast speaks at least once; otherwise mostly the addressee answers
        silent = [c for c in others if c.id not in spoken]
        if silent and (len(silent) >= n - i - 1 or rng.random() < 0.4):
            speaker = rng.choice(silent)
        else:
            speaker = addressee if rng.random() < 0.75 else rng.choice(others)
    return lines


def _shots(cast: list[Character], lines: list[Line], arc: Arc, rng: random.Random) -> list[Shot]:
    everyone = [c.id for c in cast]
    n = len(lines)
    agitated = sum(EMOTION_AFFECT[e][1] for e in arc.emotions) / len(arc.emotions) > 0.65
    pattern = rng.choice(["two_shot_then_singles", "shot_reverse_shot", "over_shoulder", "establishing"])
    shots: list[Shot] = []
    start = 0
    if pattern == "establishing":
        shots.append(Shot(size=ShotSize.extreme_wide, subjects=everyone, duration_s=round(rng.uniform(1.5, 3.0), 1),
                          movement=rng.choice([Movement.static, Movement.pan_left, Movement.pan_right])))
    if pattern in {"two_shot_then_singles", "establishing"}:
        shots.append(Shot(size=ShotSize.wide, subjects=everyone, lines=[0, 1]))
        start = 2
    for i in range(start, n):
        line = lines[i]
        last = i == n - 1
        movement = Movement.push_in if last and not agitated else (Movement.handheld if agitated and rng.random() < 0.4 else Movement.static)
        if pattern == "over_shoulder" and line.addressee:
            shots.append(Shot(size=ShotSize.medium_close_up, angle=Angle.over_shoulder,
                              subjects=[line.speaker, line.addressee], movement=movement, lines=[i]))
        else:
            size = ShotSize.close_up if EMOTION_AFFECT[line.emotion][1] > 0.6 else ShotSize.medium_close_up
            shots.append(Shot(size=size, subjects=[line.speaker], movement=movement, lines=[i]))
    if len(cast) > 2 and n - start >= 3 and rng.random() < 0.5:
        # end on the group so reactions are visible: merge the last single into a pull-out wide
        final = shots.pop()
        shots.append(Shot(size=ShotSize.wide, subjects=everyone, movement=Movement.pull_out, lines=final.lines))
    return shots


def _scene(sid: str, cast: list[Character], situation: Situation, time: TimeOfDay, arc: Arc, rng: random.Random) -> Scene:
    lighting, brightness, palette = LIGHTING[(situation.interior, time)]
    lines = _lines(cast, arc, situation, rng)
    cue_lines = sorted(rng.sample(range(len(lines)), k=min(len(lines), rng.randint(1, 2))))
    sounds = [SoundCue(cue=rng.choice(situation.sounds), at_line=i) for i in cue_lines]
    music = None if rng.random() < 0.1 else Music(mood=arc.music, intensity=round(rng.uniform(0.15, 0.5), 2))
    ambience = rng.sample(situation.ambience, k=rng.randint(1, len(situation.ambience)))
    return Scene(
        id=sid,
        title=f"{arc.title}: {situation.location}",
        setting=Setting(location=situation.location, interior=situation.interior, time_of_day=time,
                        lighting=lighting, brightness=brightness, palette=palette),
        atmosphere=Atmosphere(mood=arc.mood, music=music, ambience=ambience, sounds=sounds),
        characters=cast,
        lines=lines,
        shots=_shots(cast, lines, arc, rng),
    )


def _drama_plan(n_scenes: int, seed: int) -> list[tuple[int, int]]:
    """(first scene index, length) of each drama: spread over the suite, 3-5 scenes each."""
    if n_scenes < 3:
        return []
    rng = _rng(seed, "dramas", n_scenes)
    wanted = max(1, n_scenes // SCENES_PER_DRAMA_SLOT)
    plan: list[tuple[int, int]] = []
    k = 0
    slot = n_scenes / wanted
    for d in range(wanted):
        length = rng.randint(3, 5)
        first = max(k, int(d * slot))
        if first + length > n_scenes:
            length = n_scenes - first
        if length < 3:
            break
        plan.append((first, length))
        k = first + length
    return plan


def compose_suite(n_scenes: int, seed: int) -> Suite:
    """A suite of n_scenes composed scenes (ids `composed-<seed>-<k>`) with a few dramas; same seed, same suite."""
    if not 1 <= n_scenes <= MAX_COMPOSED_SCENES:
        raise ValueError(f"n_scenes must be between 1 and {MAX_COMPOSED_SCENES}, got {n_scenes}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, got {seed}")
    plan = _drama_plan(n_scenes, seed)
    drama_of = {first + j: (d, j) for d, (first, length) in enumerate(plan) for j in range(length)}
    drama_state: dict[int, tuple[list[Character], int, int]] = {}  # drama -> cast, situation, time index
    scenes: list[Scene] = []
    for k in range(n_scenes):
        rng = _rng(seed, "scene", k)
        arc = rng.choice(ARCS)
        if k in drama_of:
            d, j = drama_of[k]
            if j == 0:
                drng = _rng(seed, "drama", d)
                cast = [m.character() for m in drng.sample(CAST, k=drng.randint(2, 3))]
                drama_state[d] = (cast, drng.randrange(len(SITUATIONS)), drng.randrange(len(TIMES)))
            cast, where, when = drama_state[d]
            if j > 0:
                # the story moves on: later in the day (or the next one), often somewhere else
                when = (when + rng.randint(1, 3)) % len(TIMES)
                if rng.random() < 0.6:
                    where = rng.randrange(len(SITUATIONS))
                drama_state[d] = (cast, where, when)
            situation, time = SITUATIONS[where], TIMES[when]
        else:
            cast = [m.character() for m in rng.sample(CAST, k=rng.choice([2, 2, 3, 4]))]
            situation, time = rng.choice(SITUATIONS), rng.choice(TIMES)
        scenes.append(_scene(f"composed-{seed}-{k}", cast, situation, time, arc, rng))
    dramas = [
        Drama(id=f"composed-{seed}-drama-{d}", title=f"Composed drama {d + 1}",
              scenes=[scenes[first + j].id for j in range(length)])
        for d, (first, length) in enumerate(plan)
    ]
    return Suite(
        id=f"composed-{seed}",
        title=f"Composed suite ({n_scenes} scenes, seed {seed})",
        description="Scenes composed from pools of characters, situations and emotional arcs by scenes.composer.",
        scenes=scenes,
        dramas=dramas,
    )
