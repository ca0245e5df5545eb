"""The 48 fugues of the Well-Tempered Clavier, as facts.

This is the list the app's dropdown shows and the corpus module downloads.
Keys use the Humdrum / music21 spelling: upper case is major, lower case
minor, ``-`` is flat (``"E-"`` is E-flat major, ``"b-"`` B-flat minor).
``sha256`` is the checksum of the kern file at the pinned source commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ConfigError

#: Public source of the kern encodings, pinned to one commit.
SOURCE_REPOSITORY = "humdrum-tools/bach-wtc"
SOURCE_COMMIT = "0b4f4d84b90b254615e7ac09730ec473c9611cb6"
DEFAULT_MIRROR = (
    f"https://raw.githubusercontent.com/{SOURCE_REPOSITORY}/{SOURCE_COMMIT}/kern/"
)

_ROMAN = {1: "I", 2: "II"}
_ACCIDENTAL = {"#": "-sharp", "-": "-flat"}


@dataclass(frozen=True)
class Fugue:
    """One fugue: ``id`` like ``wtc1f02``, its book, number, BWV, key, voices and checksum."""

    id: str
    book: int
    number: int
    bwv: int
    key: str
    voices: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.id}.krn"

    @property
    def mode(self) -> str:
        return "minor" if self.key[0].islower() else "major"

    @property
    def key_name(self) -> str:
        """Readable key, e.g. ``"C-sharp minor"``."""
        tonic = self.key[0].upper() + _ACCIDENTAL.get(self.key[1:], "")
        return f"{tonic} {self.mode}"

    @property
    def title(self) -> str:
        """E.g. ``"Book I · Fugue 2 in C minor, BWV 847"``."""
        return f"Book {_ROMAN[self.book]} · Fugue {self.number} in {self.key_name}, BWV {self.bwv}"


FUGUES: tuple[Fugue, ...] = (
    Fugue("wtc1f01", 1, 1, 846, "C", 4,
          "c61637a2d74bf0658eff6a32687a732fdc86c96bf615f2ef5d8ac96f28b8adbe"),
    Fugue("wtc1f02", 1, 2, 847, "c", 3,
          "a0d9c36a9b5bc56b7fa87a069116fd0d55a60e7b706661fa2fe67945b53c6e62"),
    Fugue("wtc1f03", 1, 3, 848, "C#", 3,
          "4d783f607b72716c207a60e783e3f08f6c3a2cdc6f6968c0f5798ecb70c7cc18"),
    Fugue("wtc1f04", 1, 4, 849, "c#", 5,
          "49bd58e5de6c3ede53b737cc99bc24b9c63cb7051f7475bf3ca27ac3c91fbcc1"),
    Fugue("wtc1f05", 1, 5, 850, "D", 4,
          "fbf082cdcdeb1cc953c094c8826e68ebaa54c8501b39b6ad960fb52ae6905ad4"),
    Fugue("wtc1f06", 1, 6, 851, "d", 3,
          "b18ff0e09a341a330f06bf1a07fedff84a9cf96d24fa95bde62b6d26315878ac"),
    Fugue("wtc1f07", 1, 7, 852, "E-", 3,
          "5e8085a811da63e45c5a8cd8a098935e6dbe8bb714ca87a53130c41b4bd9fce5"),
    Fugue("wtc1f08", 1, 8, 853, "d#", 3,
          "aeb6c5d214b55328ec9321a8ee7f44fe85a42fa94c05b88017afe4feaa13cd81"),
    Fugue("wtc1f09", 1, 9, 854, "E", 3,
          "2fa4f677b15c028caf0f0c5f3ec8028a14caf50cc8180dc4510a24d7cdc03dc0"),
    Fugue("wtc1f10", 1, 10, 855, "e", 2,
          "512807db03fd5f6d6fde21603827327f08f9f27f1c6781e6f26ac6901080970d"),
    Fugue("wtc1f11", 1, 11, 856, "F", 3,
          "f4337d8d9f88cd14485ab77d3b7405922048a94db42c535fe7046e8aa55b0b04"),
    Fugue("wtc1f12", 1, 12, 857, "f", 4,
          "b85ddbc6ef08f648cc797a1ca75404c6ff74f7e015544ccd7d64acc1580eb50c"),
    Fugue("wtc1f13", 1, 13, 858, "F#", 3,
          "d013c2f32c4c09a1b130ffa83301bfe0170ac85aa1fe71ce0c1bfd69ae826879"),
    Fugue("wtc1f14", 1, 14, 859, "f#", 4,
          "fd63a936dce0e2962e95464a27e15f0f0953a746255f47baa1f307e3700a2ac0"),
    Fugue("wtc1f15", 1, 15, 860, "G", 3,
          "400fb5fae3a1b2b6d82e274f39fff60de9c0266d9f1681142fb2bffd3c60dbac"),
    Fugue("wtc1f16", 1, 16, 861, "g", 4,
          "1b4ae88b0cf13d5b625b12b040612a658dd2475fad86835840e61a75c3b7f469"),
    Fugue("wtc1f17", 1, 17, 862, "A-", 4,
          "f6c3ba9b6b9c2f170691874861d4bb5ffed46629741c7c1afdd37b9ff261b4b7"),
    Fugue("wtc1f18", 1, 18, 863, "g#", 4,
          "902b6a9586bf18f3e31164ce3a21d6021f8774cd283ce322e1eeb35c93484dc4"),
    Fugue("wtc1f19", 1, 19, 864, "A", 3,
          "e0647342d74fd08bdfcb236cac78e86a7e7c5c77918c7a72854002628fc47b54"),
    Fugue("wtc1f20", 1, 20, 865, "a", 4,
          "67b848452ae7efce608d71a1f8c7891236cba942a6499352ab257ae1e047d942"),
    Fugue("wtc1f21", 1, 21, 866, "B-", 3,
          "88c510ce2394b96840c9ad3a15aedeea9db726bb3a8e53c3d2488312e043478a"),
    Fugue("wtc1f22", 1, 22, 867, "b-", 5,
          "a4e8e9296a18de340603538ea4f50f9fcc3c8e2e721b12049628a7b75de0fdbb"),
    Fugue("wtc1f23", 1, 23, 868, "B", 4,
          "f88f9fca19a9bbfa3cc87b137bbde01b74d3c089d820f10be6496f52cf69603b"),
    Fugue("wtc1f24", 1, 24, 869, "b", 4,
          "8900de2e1ebd3c45811a3e0601368be577d443e14b9333d116c27879e61fa07f"),
    Fugue("wtc2f01", 2, 1, 870, "C", 3,
          "7dd4c90c376575d899923995ed7865836d402d622e66b14de2614755aa461186"),
    Fugue("wtc2f02", 2, 2, 871, "c", 4,
          "f65c02f59342f8b63525cc07e004720ac06cb4e92c463adc61187bde412242df"),
    Fugue("wtc2f03", 2, 3, 872, "C#", 3,
          "103db027a8c74c3dd7bed0342a1279138154dd81703f8f6dd1486caa04e79f97"),
    Fugue("wtc2f04", 2, 4, 873, "c#", 3,
          "117c5422787a6eac059fbeb0846b3807b259662a9545012b7d3f12d7e7e6341f"),
    Fugue("wtc2f05", 2, 5, 874, "D", 4,
          "372a3868c8279100c2533e209e99c64764d9374a66517a98a7269f207d43af9c"),
    Fugue("wtc2f06", 2, 6, 875, "d", 3,
          "8be722ef3ec7dbbfc95f9ab4fdf3381ad1e00f6129df68e9ed85c2fa64f1b82f"),
    Fugue("wtc2f07", 2, 7, 876, "E-", 4,
          "866015324440d97882bdbf53030b156a88234662bc0af94b5c44f965c1632f1d"),
    Fugue("wtc2f08", 2, 8, 877, "d#", 4,
          "60160505ed67364e801e2ce76134559cfa388323bf62e526f4cfc81f0c464bf6"),
    Fugue("wtc2f09", 2, 9, 878, "E", 4,
          "26874d5598f09f1e9270f127c1b006cb1065026a8c89d64e5584e4ea59b3cd97"),
    Fugue("wtc2f10", 2, 10, 879, "e", 3,
          "56a8f3e645559172e15de16cfaea292f7d747248bef38c399d050002169a71e8"),
    Fugue("wtc2f11", 2, 11, 880, "F", 3,
          "bb0a0e17bd99fbf7ef51a5fb4ccb6a0d21a9acc4d778f7ea8ce66a776cc6241a"),
    Fugue("wtc2f12", 2, 12, 881, "f", 3,
          "7e4e1ac77452d47c6b52bf6d0dcee9bae5f090b2197184e38dccd04e15fc2c96"),
    Fugue("wtc2f13", 2, 13, 882, "F#", 3,
          "3df8011c8736cc1360c3a24d4c7be05fdadd5b6e1f8163f2e7ba8f3834cda9be"),
    Fugue("wtc2f14", 2, 14, 883, "f#", 3,
          "570a80de1b50795a318c8ae8cb1282ba00bc751b2c39bc0562de614e07714329"),
    Fugue("wtc2f15", 2, 15, 884, "G", 3,
          "a50420622b00af457a7d1c3230d7274d005d89d57ac21d8b4cc500564c48c151"),
    Fugue("wtc2f16", 2, 16, 885, "g", 4,
          "365c43fea36be8179c2b0ad5cde78473a2aca7db9e95ecb632e1cfa594041291"),
    Fugue("wtc2f17", 2, 17, 886, "A-", 4,
          "178b73395c9277ff6a9f3a18ff99fd5a710fe83a71325263074403b63b4a4d87"),
    Fugue("wtc2f18", 2, 18, 887, "g#", 3,
          "3a74d57c6ea9dcca80918dd1d1cbc0fcd80910f4451b44100f9aefb05003c261"),
    Fugue("wtc2f19", 2, 19, 888, "A", 3,
          "bb483707badd45edb53e4873627b5ada497537a384a7f39ca790d222062d7439"),
    Fugue("wtc2f20", 2, 20, 889, "a", 3,
          "67d1695262e8ed79e6cc2f5eba93353eeca48103389c0be917095934cc05d3d6"),
    Fugue("wtc2f21", 2, 21, 890, "B-", 3,
          "3627a4670f066fff3ec5fdd3bc16fd7fb05f1175a1c3f2bf6ce5cce37842e862"),
    Fugue("wtc2f22", 2, 22, 891, "b-", 4,
          "94098adfbec212a82814e2527c4e8a38e1c64d10f1fe83ff368559b1400b4c35"),
    Fugue("wtc2f23", 2, 23, 892, "B", 4,
          "86d2af9fc3ab51d18f9a00606161ac4c54e79998d1ffd3402d2549b1a52fb703"),
    Fugue("wtc2f24", 2, 24, 893, "b", 3,
          "ae041d2097e6af7c0e5f3231354cbb882f3141c486dbd42639023636b8ada4ba"),
)


#: Each fugue's id -> its title, as the page and the command line show it.
FUGUE_TITLES: dict[str, str] = {f.id: f.title for f in FUGUES}

def fugue(fugue_id: str) -> Fugue:
    """The catalogue entry for ``fugue_id``; raises ``KeyError`` if unknown."""
    for item in FUGUES:
        if item.id == fugue_id:
            return item
    raise KeyError(fugue_id)


def known_fugue(fugue_id: str) -> Fugue:
    """The catalogue entry for ``fugue_id``, or a :class:`~bachgen.errors.ConfigError` saying
    what to use instead: for ids that come from a user (seeds, command-line options)."""
    try:
        return fugue(fugue_id)
    except KeyError:
        raise ConfigError(f"Unknown fugue {fugue_id!r}.",
                          "Use an id from `bachgen corpus list`, e.g. wtc1f02.") from None


def fugue_ids() -> list[str]:
    return [item.id for item in FUGUES]
