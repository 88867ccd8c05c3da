"""Streebog (GOST R 34.11-2012, RFC 6986), the native extension, against independent vectors.

RFC 6986 example M1, and digests of patterned inputs at the block boundaries computed with Debian's
gost12sum (an implementation independent of this project).
"""

from __future__ import annotations

import pytest

from gateway.signing import _streebog

M1 = b"012345678901234567890123456789012345678901234567890123456789012"

# (length, Streebog-256, Streebog-512) of bytes((i * 31 + 7) % 256 for i in range(length)), by gost12sum
BOUNDARIES = [
    (0, "3f539a213e97c802cc229d474c6aa32a825a360b2a933a949fd925208d9ce1bb",
     "8e945da209aa869f0455928529bcae4679e9873ab707b55315f56ceb98bef0a7362f715528356ee83cda5f2aac4c6ad2ba3a715c1bcd81cb8e9f90bf4c1c1a8a"),
    (1, "637d1d3d4ff37ad82f147bc50ed8b9fac89c914e4fd527db7e5685bf012a515c",
     "978f8e3cb576bdc0d752be82ed2b544297e6ae760851de1d6f75ec0eac3214a0f3a7370d44c385081d0810030a91b20be8624c1b728a447629ac08d9343ce219"),
    (55, "2dee90dde17e24c3ce2901c066931a204984fe202721af53361690b74c9557e1",
     "18bff79abe9b31ff5369eadf2bf1988a71b0eeaaf492866125acd6696d1d58b5692b8125668e069b91f2a673c6eff1f8f2af70126094c9038ef904775d010468"),
    (63, "dc508c84deda1fd92d8a3b50055e4aaf6972874f33e0a73866e73302d4abb9e7",
     "4f06e3be34ae3311e6d402958292e863e54937f40326a03cf33d5234d7bfdcebd2c4df59d5f6858456d9779f680a70038fce76d177bf0de83d06eff6ac83765c"),
    (64, "ff1b7926d7dbed985e429f60e389adf4e12aa0f99c05afb4311a1e20b6e8cfa4",
     "90992e89440796ee58f3b1b4680b5fa2bb6bacbc88c155c6896258d8dadad74da244834b4a98414ae2c31b48585cd43e98131e0f643d8fe8c824d9ec75c6afea"),
    (65, "08bf0fff1e7a88bff9d0f549252813043782cb90098722f7ef78c5bda812c83e",
     "56ddba385d2f4d3059ca2a229e5ae45513f4d14a3c3ad8c63d77fd12677d55c945f1b46fd031a4d080461bdb1ba94df96e4709ee3bb8a36208930945b51d3fc5"),
    (127, "3d22df695e2d277fb382dc276fa79ff5b2ea8c439dcc9df604d5262ca553664d",
     "cf4b9f8bce430b4fc9342f3177d72e1dfc29c8ef2aef3c5f00f62637cb0549e8660c55c2aca80a8be99c4b94d072c77a7e150d226dd11132c002a85c78556708"),
    (128, "7047359f23ea7d850595d34cc3b94168219d1192022ffb6444d45d1f9f32826e",
     "53e7a8a80d6932c9c9054eefca9f560d7c65d4bbdb4d4f946277d2ccad0a3d18df26f37cc644b3a0a25e3b795e694608df2a409c64e6f60392277c4203c8797d"),
    (129, "8f300f722786fbf7b0f6a982dcb09cb883c091c782b3242f854201863b72b0db",
     "26496628de81efca8c50a0fcc976d6d857a9312246c05625ff6297e092ce3c81bd56662951b59be1f83da09564b05df9c125e2c9bf5a290646961d14e46b62c4"),
    (1000, "2e9e9b482551966560ee9eace921cf3d6000ed04f8f9e93fdb2d80c208f2eae0",
     "69872bb0e58690506f7ca3299b5e2bf2cebc552075bf0c415dc266c4ac9be6e962f5c4be936004ba92a3e4ae8bb0d7c01de311b41027e582ea52e30f61665fa0"),
]


def _pattern(length: int) -> bytes:
    return bytes((i * 31 + 7) % 256 for i in range(length))


def test_rfc_6986_example_m1() -> None:
    # RFC 6986 prints digests most significant byte first; implementations and XMLDSig use this order
    assert _streebog.digest256(M1).hex() == "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"
    assert _streebog.digest256(M1)[::-1].hex() == "00557be5e584fd52a449b16b0251d05d27f94ab76cbaa6da890b59d8ef1e159d"


@pytest.mark.parametrize("length, digest256, digest512", BOUNDARIES)
def test_block_boundaries_match_an_independent_implementation(length: int, digest256: str, digest512: str) -> None:
    assert _streebog.digest256(_pattern(length)).hex() == digest256
    assert _streebog.digest512(_pattern(length)).hex() == digest512


def test_accepts_any_bytes_like_object_and_refuses_text() -> None:
    assert _streebog.digest256(memoryview(M1)) == _streebog.digest256(bytearray(M1)) == _streebog.digest256(M1)
    with pytest.raises(TypeError):
        _streebog.digest256("text")  # type: ignore[arg-type]
