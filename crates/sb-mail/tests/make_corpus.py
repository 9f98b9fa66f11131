#!/usr/bin/env python3
"""Writes the golden corpus of sb-mail: tests/corpus/NAME.eml, raw mails written for this project.

Each mail is spelled out below as it would arrive (headers and body), with Python only doing the
byte work a mail client does: charsets, base64, quoted-printable, CRLF line ends. The expected
parse of each mail (NAME.json) is written by the Rust golden test (UPDATE_EXPECT=1) and reviewed
by reading it. Running this script again rewrites the same bytes.

    python3 crates/sb-mail/tests/make_corpus.py
"""

import base64
import quopri
import random
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
CHECK_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"

mails: dict[str, bytes] = {}


def token(ticket_id: int) -> str:
    """The ticket token as sb_mail::format_ticket_token writes it."""
    digits = str(ticket_id)
    total = sum((pos + 1) * int(d) for pos, d in enumerate(reversed(digits)))
    return f"[SB-{digits}-{CHECK_LETTERS[total % 23]}]"


def reply_tag(ticket_id: int) -> str:
    return f"sb{ticket_id}{token(ticket_id)[-2].lower()}"


def add(name: str, text: str, crlf: bool = False, encoding: str = "utf-8") -> None:
    """A mail written as text: leading newline dropped, LF or CRLF line ends."""
    text = text.lstrip("\n")
    if crlf:
        text = text.replace("\n", "\r\n")
    mails[name] = text.encode(encoding)


def add_bytes(name: str, head: str, body: bytes, crlf: bool = False) -> None:
    head = head.lstrip("\n")
    if crlf:
        head = head.replace("\n", "\r\n")
        body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    mails[name] = head.encode("ascii") + body


def b64(data: bytes, width: int = 76) -> str:
    encoded = base64.b64encode(data).decode()
    return "\n".join(encoded[i : i + width] for i in range(0, len(encoded), width)) + "\n"


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def ew(text: str, charset: str = "utf-8", mode: str = "B") -> str:
    """An RFC 2047 encoded word."""
    data = text.encode(charset)
    if mode == "B":
        return f"=?{charset}?B?{base64.b64encode(data).decode()}?="
    out = []
    for byte in data:
        ch = chr(byte)
        if ch.isascii() and ch.isalnum():
            out.append(ch)
        elif ch == " ":
            out.append("_")
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset}?Q?{''.join(out)}?="


# Small deterministic binary payloads standing in for real files.
rng = random.Random(20261203)
PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF_SMALL = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n" + bytes(rng.randrange(256) for _ in range(900)) + b"\n%%EOF\n"
JPEG_SMALL = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(rng.randrange(256) for _ in range(1500)) + b"\xff\xd9"

SUPPORT = "Shop Support <support@shop.example>"

# ------------------------------------------------------------------------------------------
# Plain customer mails
# ------------------------------------------------------------------------------------------

add("plain_en_where_is_order", """
Return-Path: <john.miller@mail.example>
Message-ID: <CAB2x9Lk1@mail.example>
Date: Mon, 13 Jan 2025 09:14:02 -0500
From: John Miller <john.miller@mail.example>
To: support@shop.example
Subject: Where is my order #A10493?
MIME-Version: 1.0
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 7bit

Hi,

I ordered a pair of running shoes on January 2nd (order #A10493) and the
tracking page still says "label created". Can you tell me when it will ship?

Thanks,
John
""")

add("plain_de_ruecksendung", """
Message-ID: <20250114081532.4711@web.example>
Date: Tue, 14 Jan 2025 08:15:32 +0100
From: "Anna Schmidt" <anna.schmidt@web.example>
To: Kundenservice <support@shop.example>
Subject: =?UTF-8?Q?R=C3=BCcksendung_Bestellung_#A10511?=
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Guten Tag,

ich möchte die Jacke aus Bestellung #A10511 zurückschicken, sie ist leider zu groß.
Bitte senden Sie mir ein Rücksendeetikett.

Mit freundlichen Grüßen
Anna Schmidt
""", crlf=True)

add("plain_fr_remboursement", f"""
Message-ID: <a1b2c3@orange.example>
Date: Wed, 15 Jan 2025 17:40:00 +0100
From: =?utf-8?q?Marie_Lef=C3=A8vre?= <marie.lefevre@orange.example>
To: support@shop.example
Subject: Remboursement commande #A10377
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{qp('''Bonjour,

J'ai renvoyé la robe de la commande #A10377 il y a trois semaines et je n'ai toujours pas été remboursée. Pouvez-vous vérifier où en est le remboursement de 59,90 € ?

Cordialement,
Marie Lefèvre
''')}""")

add("plain_es_devolucion", f"""
Message-ID: <d3v0lucion.77@correo.example>
Date: Thu, 16 Jan 2025 11:05:44 +0100
From: Carlos Ruiz <carlos.ruiz@correo.example>
To: support@shop.example
Subject: =?UTF-8?B?{base64.b64encode('Devolución del pedido #A10620'.encode()).decode()}?=
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

{b64('''Hola,

Quiero devolver las zapatillas del pedido #A10620 porque llegaron con la suela despegada.
¿Me pueden enviar una etiqueta de devolución?

Un saludo,
Carlos
'''.encode())}""")

add("plain_crlf_minimal", """
From: kim@mail.example
To: support@shop.example
Subject: cancel
Message-ID: <min1@mail.example>
Date: 17 Jan 2025 07:00 +0000

Please cancel order #A10702, I ordered the wrong size.
""", crlf=True)

add("plain_mobile_signature", """
Message-ID: <8F3A9C2E-1B7D-4C1E-9E35-1A2B3C4D5E6F@icloud.example>
Date: Fri, 17 Jan 2025 19:22:10 +0000
From: Priya Shah <priya.shah@icloud.example>
To: support@shop.example
Subject: Wrong colour delivered
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit
Mime-Version: 1.0 (1.0)

Hello, I ordered the blue kettle (order #A10733) but received a red one. Can I swap it?

Sent from my iPhone
""")

add("plain_signature_delimiter", """
Message-ID: <sigdelim.1@posteo.example>
Date: Sat, 18 Jan 2025 10:00:00 +0100
From: Jonas Weber <jonas@posteo.example>
To: support@shop.example
Subject: Rechnung fehlt
Content-Type: text/plain; charset=UTF-8

Hallo,

zu meiner Bestellung #A10755 habe ich keine Rechnung bekommen. Können Sie sie mir schicken?

-- 
Jonas Weber
Lindenstraße 12, 10115 Berlin
Tel. +49 30 1234567
""")

# ------------------------------------------------------------------------------------------
# HTML and multipart/alternative
# ------------------------------------------------------------------------------------------

add("html_only_en", """
Message-ID: <html.only.1@outlook.example>
Date: Sun, 19 Jan 2025 14:03:00 +0000
From: Emily Clark <emily.clark@outlook.example>
To: support@shop.example
Subject: Damaged parcel
MIME-Version: 1.0
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

<html><head><style>p{margin:0}</style></head><body>
<p>Hello,</p>
<p>My parcel for order <b>#A10801</b> arrived with the box crushed and the =
glass lamp inside is <i>broken</i>.</p>
<p>Photos: <a href=3D"https://photos.example/x">see here</a></p>
<p>Best regards,<br>Emily</p>
</body></html>
""")

add("html_only_de_table", """
Message-ID: <tbl.22@gmx.example>
Date: Sun, 19 Jan 2025 15:10:00 +0100
From: Lukas Becker <lukas.becker@gmx.example>
To: support@shop.example
Subject: Falscher Artikel
MIME-Version: 1.0
Content-Type: text/html; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

<html><body><div>Sehr geehrte Damen und Herren,</div><div><br></div>
<div>statt der bestellten Gr=F6=DFe M habe ich L bekommen:</div>
<table><tr><td>Bestellung</td><td>#A10812</td></tr><tr><td>Artikel</td><td>Pullover &amp; M=FCtze</td></tr></table>
<div>Viele Gr=FC=DFe<br>Lukas Becker</div></body></html>
""")

add("alternative_en", """
Message-ID: <alt.en.1@mail.example>
Date: Mon, 20 Jan 2025 08:00:00 -0800
From: Sarah Johnson <sarah.j@mail.example>
To: support@shop.example
Subject: Promo code not applied
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5"

--000000000000a1b2c3d4e5
Content-Type: text/plain; charset="UTF-8"

Hi there,

The promo code WINTER20 was not applied to order #A10840 even though the
banner said it was valid. Could you refund the 20% difference?

Sarah

--000000000000a1b2c3d4e5
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi there,<div><br></div><div>The promo code WINTER20 was not applied to order #A10840 even though the banner said it was valid. Could you refund the 20% difference?</div><div><br></div><div>Sarah</div></div>

--000000000000a1b2c3d4e5--
""", crlf=True)

add("alternative_html_first", """
Message-ID: <alt.htmlfirst@mail.example>
Date: Mon, 20 Jan 2025 09:00:00 +0000
From: Tom Baker <tom.baker@mail.example>
To: support@shop.example
Subject: Change delivery address
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b1

--b1
Content-Type: text/html; charset=utf-8

<p>Please send order #A10851 to 4 Mill Lane instead.</p>
--b1
Content-Type: text/plain; charset=utf-8

Please send order #A10851 to 4 Mill Lane instead (plain part).
--b1--
""")

FR_HTML = "<p>Bonjour,</p><p>Le suivi indique que le colis de la commande #A10866 a été livré hier, mais je ne l'ai pas reçu.</p>"
add("alternative_fr_latin1_qp", f"""
Message-ID: <alt.fr.2@laposte.example>
Date: Tue, 21 Jan 2025 12:12:12 +0100
From: Julien Moreau <julien.moreau@laposte.example>
To: support@shop.example
Subject: =?iso-8859-1?Q?Colis_non_re=E7u?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="----=_NextPart_000_0012_01DB6B"

------=_NextPart_000_0012_01DB6B
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

{qp('''Bonjour,

Le suivi indique que le colis de la commande #A10866 a été livré hier, mais je ne l'ai pas reçu. Pouvez-vous ouvrir une enquête auprès du transporteur ?

Merci d'avance,
Julien
''', 'iso-8859-1')}
------=_NextPart_000_0012_01DB6B
Content-Type: text/html; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable

{qp(FR_HTML, 'iso-8859-1')}
------=_NextPart_000_0012_01DB6B--
""", crlf=True)

add("related_inline_image", f"""
Message-ID: <rel.img.9@mail.example>
Date: Wed, 22 Jan 2025 16:45:00 +0000
From: Grace Lee <grace.lee@mail.example>
To: support@shop.example
Subject: Scratch on the table top
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8

The table from order #A10890 has a long scratch, see the photo.
[image: scratch.png]
Grace

--outer
Content-Type: multipart/related; boundary="inner"

--inner
Content-Type: text/html; charset=utf-8

<p>The table from order #A10890 has a long scratch, see the photo.</p><img src="cid:ii_scratch01"><p>Grace</p>
--inner
Content-Type: image/png; name="scratch.png"
Content-Disposition: inline; filename="scratch.png"
Content-Transfer-Encoding: base64
Content-ID: <ii_scratch01>

{b64(PNG_1PX)}--inner--

--outer--
""")

add("mixed_pdf_attachment", f"""
Message-ID: <mixed.pdf.3@firma.example>
Date: Thu, 23 Jan 2025 10:30:00 +0100
From: Petra Wagner <p.wagner@firma.example>
To: support@shop.example
Subject: Rechnung mit falscher Adresse
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=-mix-3"

--=-mix-3
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo,

auf der angehängten Rechnung zu #A10901 steht noch meine alte Adresse. Bitte korrigieren.

Danke
Petra Wagner

--=-mix-3
Content-Type: application/pdf; name="Rechnung_A10901.pdf"
Content-Disposition: attachment; filename="Rechnung_A10901.pdf"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL)}
--=-mix-3--
""", crlf=True)

add("mixed_rfc2231_filenames", f"""
Message-ID: <rfc2231.1@web.example>
Date: Thu, 23 Jan 2025 11:00:00 +0100
From: Sven Krüger <sven@web.example>
To: support@shop.example
Subject: Fotos zur Reklamation #A10915
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="xx"

--xx
Content-Type: text/plain; charset=utf-8

Im Anhang die Fotos vom defekten Wasserkocher (#A10915) und der Lieferschein.

--xx
Content-Type: image/jpeg
Content-Disposition: attachment; filename*=utf-8''Wasserkocher%20Boden%20gerissen.jpg
Content-Transfer-Encoding: base64

{b64(JPEG_SMALL)}
--xx
Content-Type: application/pdf
Content-Disposition: attachment;
 filename*0*=utf-8''R%C3%BCcksende;
 filename*1*=schein%20A10915.pdf
Content-Transfer-Encoding: base64

{b64(PDF_SMALL[:300])}
--xx--
""")

add("attachment_encoded_word_name", f"""
Message-ID: <ewname@correo.example>
Date: Fri, 24 Jan 2025 09:09:09 +0100
From: =?UTF-8?Q?Luc=C3=ADa_G=C3=B3mez?= <lucia.gomez@correo.example>
To: support@shop.example
Subject: Factura del pedido #A10933
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain; charset=utf-8

Adjunto la factura. El importe cobrado (89,00 €) no coincide con el del pedido #A10933.

--b
Content-Type: application/pdf; name="{ew('Factura nº 2025-0193.pdf')}"
Content-Disposition: attachment; filename="{ew('Factura nº 2025-0193.pdf')}"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL[:500])}
--b--
""")

add("apple_inline_image_between_text", f"""
Message-ID: <AB12-CD34@icloud.example>
Date: Fri, 24 Jan 2025 20:20:20 +0000
From: Oliver Brown <oliver.brown@icloud.example>
To: support@shop.example
Subject: Leaking bottle
Mime-Version: 1.0 (Mac OS X Mail 16.0)
Content-Type: multipart/mixed; boundary="Apple-Mail=_5E7A"

--Apple-Mail=_5E7A
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset=us-ascii

The shampoo bottle from order #A10950 leaked all over the other items:

--Apple-Mail=_5E7A
Content-Disposition: inline; filename=IMG_0042.png
Content-Type: image/png; x-unix-mode=0644; name="IMG_0042.png"
Content-Transfer-Encoding: base64

{b64(PNG_1PX)}
--Apple-Mail=_5E7A
Content-Transfer-Encoding: 7bit
Content-Type: text/plain; charset=us-ascii

Can you send a replacement?

Oliver
--Apple-Mail=_5E7A--
""")

# ------------------------------------------------------------------------------------------
# Replies in the quoting styles of mail clients
# ------------------------------------------------------------------------------------------

T1 = 104233
add("reply_gmail_en", f"""
Message-ID: <CAGmail-reply-1@mail.example>
In-Reply-To: <sb.out.104233.2@shop.example>
References: <CAB2x9Lk9@mail.example> <sb.out.104233.1@shop.example> <sb.out.104233.2@shop.example>
Date: Tue, 14 Jan 2025 10:02:00 -0500
From: John Miller <john.miller@mail.example>
To: Shop Support <support@shop.example>
Subject: Re: {token(T1)} Your return label
Content-Type: text/plain; charset="UTF-8"

Thanks, the label worked. The parcel is at the post office now, when will
I get my refund for #A10493?

On Mon, Jan 13, 2025 at 4:10 PM Shop Support <support@shop.example> wrote:

> Hello John,
>
> please find your return label attached.
>
> Kind regards,
> Shop Support
""")

add("reply_gmail_wrapped_attribution", """
Message-ID: <CAGmail-reply-2@mail.example>
In-Reply-To: <sb.out.104300.1@shop.example>
Date: Tue, 14 Jan 2025 11:00:00 +0000
From: Rachel Green <rachel.green@mail.example>
To: support@shop.example
Subject: Re: Your order #A10520 has shipped
Content-Type: text/plain; charset="UTF-8"

It has been 10 days and the tracking number does not work. Can you check?

On Fri, Jan 3, 2025 at 9:15 AM Shop Support <
support@shop.example> wrote:

> Good news: your order #A10520 has shipped with DHL, tracking
> 00340434161094042557.
""")

add("reply_gmail_html", """
Message-ID: <CAGmail-reply-3@mail.example>
In-Reply-To: <sb.out.104301.1@shop.example>
References: <sb.out.104301.1@shop.example>
Date: Tue, 14 Jan 2025 12:00:00 +0000
From: Daniel Kim <daniel.kim@mail.example>
To: support@shop.example
Subject: Re: Refund approved
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="00000000000099887766"

--00000000000099887766
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">The refund for #A10555 still has not reached my card. It h=
as been 12 days.</div><br><div class=3D"gmail_quote"><div dir=3D"ltr" class=
=3D"gmail_attr">On Thu, Jan 2, 2025 at 3:00 PM Shop Support &lt;<a href=3D"=
mailto:support@shop.example">support@shop.example</a>&gt; wrote:<br></div><=
blockquote class=3D"gmail_quote" style=3D"margin:0px 0px 0px 0.8ex">Your re=
fund of $45.00 has been approved.</blockquote></div>

--00000000000099887766--
""")

add("reply_outlook_original_message", """
Message-ID: <DM6PR11MB1234ABCD@outlook.example>
In-Reply-To: <sb.out.104400.1@shop.example>
References: <sb.out.104400.1@shop.example>
Thread-Topic: Exchange request #A10600
Thread-Index: AQHbZ1234
Date: Wed, 15 Jan 2025 13:13:13 +0000
From: Mark Wilson <mark.wilson@outlook.example>
To: "support@shop.example" <support@shop.example>
Subject: RE: Exchange request #A10600
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit
MIME-Version: 1.0

Hi,

Size 42 is fine, please go ahead with the exchange.

Regards,
Mark

-----Original Message-----
From: Shop Support <support@shop.example>
Sent: Tuesday, January 14, 2025 5:00 PM
To: Mark Wilson <mark.wilson@outlook.example>
Subject: Exchange request #A10600

Hello Mark, which size would you like instead?
""", crlf=True)

add("reply_outlook_header_block", """
Message-ID: <AM0PR07MB5678@outlook.example>
In-Reply-To: <sb.out.104401.1@shop.example>
Date: Wed, 15 Jan 2025 14:00:00 +0000
From: Linda Harris <linda.harris@outlook.example>
To: Shop Support <support@shop.example>
Subject: RE: Your subscription
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable
MIME-Version: 1.0

Please cancel the coffee subscription from next month on.

Linda

________________________________
From: Shop Support <support@shop.example>
Sent: Monday, January 13, 2025 08:00
To: Linda Harris <linda.harris@outlook.example>
Subject: Your subscription

Your next coffee delivery ships on 1 February.
""", crlf=True)

add("reply_outlook_de", """
Message-ID: <FR2P281MB0001@outlook.example>
In-Reply-To: <sb.out.104402.1@shop.example>
Date: Wed, 15 Jan 2025 15:00:00 +0100
From: Michael Hoffmann <m.hoffmann@outlook.example>
To: Shop Support <support@shop.example>
Subject: AW: Ihre Bestellung #A10640
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: 8bit
MIME-Version: 1.0

Hallo,

die Lieferung ist immer noch nicht da. Bitte prüfen Sie das.

Gruß
Michael Hoffmann

Von: Shop Support <support@shop.example>
Gesendet: Montag, 13. Januar 2025 09:00
An: Michael Hoffmann <m.hoffmann@outlook.example>
Betreff: Ihre Bestellung #A10640

Ihre Bestellung wurde versandt.
""", crlf=True)

add("reply_apple_mail", """
Message-ID: <5C9D2F1A-7E0B-4B8A-A1B2-0C3D4E5F6A7B@icloud.example>
In-Reply-To: <sb.out.104403.1@shop.example>
References: <sb.out.104403.1@shop.example>
Date: Thu, 16 Jan 2025 18:00:00 +0000
From: Sophie Turner <sophie.turner@icloud.example>
To: Shop Support <support@shop.example>
Subject: Re: Gift wrap
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable
Mime-Version: 1.0 (1.0)

Yes please add gift wrap to #A10655, I will pay the extra.

Sent from my iPhone

> On 16 Jan 2025, at 17:30, Shop Support <support@shop.example> wrote:
>=20
> =EF=BB=BFGift wrap costs 3.50 extra, shall we add it?
""")

add("reply_thunderbird", """
Message-ID: <3f0e8b2a-1c2d-4e5f-8a9b-0c1d2e3f4a5b@posteo.example>
In-Reply-To: <sb.out.104404.1@shop.example>
References: <sb.out.104404.1@shop.example>
Date: Thu, 16 Jan 2025 19:00:00 +0100
User-Agent: Mozilla Thunderbird
From: Paul Fischer <paul.fischer@posteo.example>
To: support@shop.example
Subject: Re: Warranty claim #A10660
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 7bit

The blender stopped working again after the repair. I would like a
replacement instead.

On 10.01.25 14:22, Shop Support wrote:
> We have repaired your blender under warranty.
>
> Shop Support
""")

add("reply_thunderbird_de", """
Message-ID: <7a6b5c4d-3e2f-1a0b-9c8d-7e6f5a4b3c2d@posteo.example>
In-Reply-To: <sb.out.104405.1@shop.example>
Date: Thu, 16 Jan 2025 20:00:00 +0100
User-Agent: Mozilla Thunderbird
Content-Language: de-DE
From: Klaus Neumann <klaus.neumann@posteo.example>
To: support@shop.example
Subject: Re: Ihre Anfrage zu #A10671
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Danke, aber das Paket ist beschädigt angekommen und der Inhalt ist nass.

Am 15.01.25 um 10:00 schrieb Shop Support:
> Ihr Paket wird morgen zugestellt.
""")

add("reply_gmail_de", """
Message-ID: <CAGmail-de-1@gmail.example>
In-Reply-To: <sb.out.104406.1@shop.example>
Date: Fri, 17 Jan 2025 09:00:00 +0100
From: Laura Schulz <laura.schulz@gmail.example>
To: Shop Support <support@shop.example>
Subject: Re: Gutschein
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Der Gutscheincode funktioniert leider immer noch nicht bei Bestellung #A10688=
.

Am Do., 16. Jan. 2025 um 14:00 Uhr schrieb Shop Support <
support@shop.example>:

> Bitte versuchen Sie es mit dem Code NEUJAHR10 erneut.
""")

add("reply_french", """
Message-ID: <CAGmail-fr-1@free.example>
In-Reply-To: <sb.out.104407.1@shop.example>
Date: Fri, 17 Jan 2025 10:00:00 +0100
From: Camille Martin <camille.martin@free.example>
To: Service client <support@shop.example>
Subject: Re: Votre retour #A10699
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 8bit

Bonjour,

Je n'ai toujours pas reçu l'étiquette de retour pour la commande #A10699.

Bonne journée,
Camille

Le jeu. 16 janv. 2025 à 11:00, Service client <support@shop.example> a écrit :

> Bonjour Camille, votre retour est accepté.
""")

add("reply_spanish", """
Message-ID: <CAGmail-es-1@correo.example>
In-Reply-To: <sb.out.104408.1@shop.example>
Date: Fri, 17 Jan 2025 11:00:00 +0100
From: Javier Torres <javier.torres@correo.example>
To: support@shop.example
Subject: RE: Su pedido #A10710
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: 8bit

Buenos días,

El pedido #A10710 llegó incompleto: faltan los calcetines.

Saludos cordiales,
Javier

El jue, 16 ene 2025 a las 12:00, Atención al cliente (<support@shop.example>)
escribió:

> Su pedido ha sido entregado.
""")

add("reply_bottom_posted", """
Message-ID: <bottom.1@mail.example>
In-Reply-To: <sb.out.104409.1@shop.example>
Date: Sat, 18 Jan 2025 09:00:00 +0000
From: Alan Turing <alan@mail.example>
To: support@shop.example
Subject: Re: Question about sizes
Content-Type: text/plain; charset=utf-8

On Fri, 17 Jan 2025 at 16:00, Shop Support <support@shop.example> wrote:
> Which size do you usually wear?

Usually a 44. Does the trail shoe run small?
""")

T2 = 104410
add("reply_token_in_quote_only", f"""
Message-ID: <token.quote@mail.example>
Date: Sat, 18 Jan 2025 10:00:00 +0000
From: Nina Patel <nina.patel@mail.example>
To: support@shop.example
Subject: still waiting
Content-Type: text/plain; charset=utf-8

I never got an answer to this.

On Thu, 16 Jan 2025 at 08:00, Shop Support <support@shop.example> wrote:
> {token(T2)} We are looking into your refund for #A10720.
""")

T3 = 104411
add("reply_to_plus_address", f"""
Message-ID: <plus.addr@mail.example>
Date: Sat, 18 Jan 2025 11:00:00 +0000
From: Omar Haddad <omar.haddad@mail.example>
To: Shop Support <support+{reply_tag(T3)}@shop.example>
Subject: my replacement
Content-Type: text/plain; charset=utf-8

The replacement arrived, thank you! One more question: can I keep the broken one?
""")

add("reply_subject_counters", """
Message-ID: <counters@mail.example>
In-Reply-To: <sb.out.104412.3@shop.example>
References: <sb.out.104412.1@shop.example>
 <CAfirst@mail.example>
 <sb.out.104412.2@shop.example>
 <sb.out.104412.3@shop.example>
Date: Sun, 19 Jan 2025 12:00:00 +0100
From: Eva Lang <eva.lang@web.example>
To: support@shop.example
Subject: RE[2]: AW: Fwd: Lieferung #A10731
Content-Type: text/plain; charset=utf-8

Noch immer nichts angekommen.
""")

# ------------------------------------------------------------------------------------------
# Forwards
# ------------------------------------------------------------------------------------------

add("forward_gmail_inline", """
Message-ID: <fwd.gmail@mail.example>
Date: Mon, 20 Jan 2025 10:00:00 +0000
From: Helen Wright <helen.wright@mail.example>
To: support@shop.example
Subject: Fwd: Your order confirmation #A10744
Content-Type: text/plain; charset="UTF-8"

Please see below, I was charged twice for this order.

---------- Forwarded message ---------
From: Shop <orders@shop.example>
Date: Sun, Jan 19, 2025 at 8:00 PM
Subject: Your order confirmation #A10744
To: <helen.wright@mail.example>

Thank you for your order #A10744. Total charged: $120.00.
""")

add("forward_outlook_inline", """
Message-ID: <fwd.outlook@outlook.example>
Date: Mon, 20 Jan 2025 11:00:00 +0000
From: George King <george.king@outlook.example>
To: support@shop.example
Subject: FW: Delivery exception
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0



From: UPS <noreply@ups.example>
Sent: Sunday, January 19, 2025 7:00 PM
To: George King <george.king@outlook.example>
Subject: Delivery exception

Your package 1Z999AA10123456784 could not be delivered: address incomplete.
""", crlf=True)

add("forward_as_attachment", f"""
Message-ID: <fwd.attach@mail.example>
Date: Mon, 20 Jan 2025 12:00:00 +0000
From: Ian Scott <ian.scott@mail.example>
To: support@shop.example
Subject: Fwd: Payment declined
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwdb"

--fwdb
Content-Type: text/plain; charset=utf-8

Forwarding the mail I got. My card works everywhere else.

--fwdb
Content-Type: message/rfc822
Content-Disposition: attachment

Message-ID: <pay.declined.1@shop.example>
Date: Sun, 19 Jan 2025 21:00:00 +0000
From: Shop <orders@shop.example>
To: ian.scott@mail.example
Subject: Payment declined for order #A10760
Content-Type: text/plain; charset=utf-8

Your payment for order #A10760 was declined.

--fwdb--
""")

add("forward_apple_begin", """
Message-ID: <fwd.apple@icloud.example>
Date: Mon, 20 Jan 2025 13:00:00 +0000
From: Ruby Hall <ruby.hall@icloud.example>
To: support@shop.example
Subject: Fwd: Return received
Content-Type: text/plain; charset=utf-8

Begin forwarded message:

From: Shop <returns@shop.example>
Subject: Return received
Date: 10 January 2025 at 09:00:00 GMT
To: ruby.hall@icloud.example

We have received your return for order #A10777. Your refund will follow in 5 days.
""")

# ------------------------------------------------------------------------------------------
# Charsets
# ------------------------------------------------------------------------------------------

add_bytes("charset_iso8859_1_qp", f"""
Message-ID: <latin1.qp@t-online.example>
Date: Tue, 21 Jan 2025 08:00:00 +0100
From: =?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen.mueller@t-online.example>
To: support@shop.example
Subject: =?ISO-8859-1?Q?Gr=F6=DFe_tauschen_=28#A10788=29?=
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable

""", qp('''Guten Morgen,

können Sie die Schuhe aus #A10788 gegen Größe 43 tauschen?

Grüße
Jürgen Müller
''', 'iso-8859-1').encode())

add_bytes("charset_windows1252_8bit", """
Message-ID: <cp1252@wanadoo.example>
Date: Tue, 21 Jan 2025 09:00:00 +0100
From: Pierre Dubois <pierre.dubois@wanadoo.example>
To: support@shop.example
Subject: =?windows-1252?Q?Facture_=80_incorrecte?=
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: 8bit

""", '''Bonjour,

La facture de la commande #A10799 indique 149 € au lieu de 129 €. C’est une « erreur » ?

Merci,
Pierre
'''.encode("cp1252"), crlf=True)

add_bytes("charset_shift_jis", f"""
Message-ID: <sjis.1@docomo.example>
Date: Tue, 21 Jan 2025 18:00:00 +0900
From: {ew('田中 花子', 'shift_jis')} <hanako.tanaka@docomo.example>
To: support@shop.example
Subject: {ew('注文 #A10810 の配送について', 'shift_jis')}
MIME-Version: 1.0
Content-Type: text/plain; charset=Shift_JIS
Content-Transfer-Encoding: base64

""", b64('''お世話になっております。
注文番号 #A10810 の商品がまだ届いていません。
配送状況を教えてください。

田中
'''.encode("shift_jis")).encode())

add_bytes("charset_koi8r", f"""
Message-ID: <koi8.1@yandex.example>
Date: Wed, 22 Jan 2025 10:00:00 +0300
From: {ew('Иван Петров', 'koi8-r')} <ivan.petrov@yandex.example>
To: support@shop.example
Subject: {ew('Возврат заказа #A10821', 'koi8-r')}
MIME-Version: 1.0
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: 8bit

""", '''Здравствуйте!

Хочу вернуть куртку из заказа #A10821, она не подошла по размеру.

С уважением,
Иван
'''.encode("koi8-r"))

add_bytes("charset_utf7", """
Message-ID: <utf7.1@old.example>
Date: Wed, 22 Jan 2025 11:00:00 +0100
From: Beate Roth <beate.roth@old.example>
To: support@shop.example
Subject: Lieferadresse
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-7
Content-Transfer-Encoding: 7bit

""", '''Bitte ändern Sie die Lieferadresse für #A10832 auf Gartenstraße 5.
'''.encode("utf-7"))

add_bytes("charset_iso2022jp", f"""
Message-ID: <jis.1@ezweb.example>
Date: Wed, 22 Jan 2025 20:00:00 +0900
From: {ew('鈴木 一郎', 'iso-2022-jp')} <ichiro.suzuki@ezweb.example>
To: support@shop.example
Subject: {ew('返品について', 'iso-2022-jp')}
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-2022-JP
Content-Transfer-Encoding: 7bit

""", '''注文 #A10843 の返品をお願いします。
'''.encode("iso-2022-jp"))

add("subject_encoded_words_mixed", f"""
Message-ID: <ew.mixed@mail.example>
Date: Thu, 23 Jan 2025 08:00:00 +0000
From: {ew('Zoë ', 'utf-8', 'Q')} {ew('Ångström', 'iso-8859-1', 'Q')} <zoe@mail.example>
To: support@shop.example
Subject: {ew('Refund 🎁 for ')} {ew('order #A10854 – ', 'utf-8', 'Q')}
 {ew('still pending', 'utf-8', 'B')} (really)
Content-Type: text/plain; charset=utf-8

Where is my refund?
""")

add("charset_wrong_declared", """
Message-ID: <wrong.cs@mail.example>
Date: Thu, 23 Jan 2025 09:00:00 +0100
From: Heinz Vogel <heinz.vogel@mail.example>
To: support@shop.example
Subject: Beschwerde
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

""", encoding="utf-8")
mails["charset_wrong_declared"] += "Die Lieferung für #A10865 war beschädigt und der Fahrer unhöflich. Ich möchte eine Erstattung.\n".encode("iso-8859-1")

add("charset_unknown", """
Message-ID: <unknown.cs@mail.example>
Date: Thu, 23 Jan 2025 10:00:00 +0000
From: Kevin Moore <kevin.moore@mail.example>
To: support@shop.example
Subject: order question
MIME-Version: 1.0
Content-Type: text/plain; charset="x-klingon-pIqaD"

Do you ship order #A10876 to Norway?
""")

# ------------------------------------------------------------------------------------------
# Auto-replies, bounces, lists, bulk
# ------------------------------------------------------------------------------------------

add("ooo_exchange_en", """
Message-ID: <ooo.exchange@outlook.example>
In-Reply-To: <sb.out.104500.1@shop.example>
Date: Fri, 24 Jan 2025 07:00:00 +0000
From: Mark Wilson <mark.wilson@outlook.example>
To: Shop Support <support@shop.example>
Subject: Automatic reply: Exchange request #A10600
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: mark.wilson@outlook.example
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until 3 February with limited access to email.
""", crlf=True)

add("ooo_de_subject_only", """
Message-ID: <ooo.de@web.example>
Date: Fri, 24 Jan 2025 08:00:00 +0100
From: Anna Schmidt <anna.schmidt@web.example>
To: support@shop.example
Subject: Abwesenheitsnotiz: Ihre Rücksendung
Content-Type: text/plain; charset=utf-8

Ich bin bis zum 31.01. nicht im Büro.
""")

add("ooo_x_autoreply", """
Message-ID: <vacation.1@posteo.example>
Date: Fri, 24 Jan 2025 09:00:00 +0100
From: Paul Fischer <paul.fischer@posteo.example>
To: support@shop.example
Subject: On vacation
X-Autoreply: yes
Precedence: auto_reply
Content-Type: text/plain; charset=utf-8

I am on vacation and will read your mail when I am back.
""")

add("ooo_autorespond_fr", """
Message-ID: <repauto.1@free.example>
Date: Fri, 24 Jan 2025 10:00:00 +0100
From: Camille Martin <camille.martin@free.example>
To: support@shop.example
Subject: =?utf-8?q?R=C3=A9ponse_automatique_=3A_Votre_retour?=
X-Autorespond: Votre retour
Content-Type: text/plain; charset=utf-8

Je suis absente jusqu'au lundi 27 janvier.
""")

add("dsn_postfix", f"""
Return-Path: <>
Message-ID: <20250124110000.ABC1@mx.shop.example>
Date: Fri, 24 Jan 2025 11:00:00 +0000 (UTC)
From: MAILER-DAEMON@mx.shop.example (Mail Delivery System)
To: support@shop.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="ABC1.1737716400/mx.shop.example"

This is a MIME-encapsulated message.

--ABC1.1737716400/mx.shop.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.shop.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<old.address@gone.example>: host mx.gone.example said: 550 5.1.1 User unknown

--ABC1.1737716400/mx.shop.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.shop.example
X-Postfix-Queue-ID: ABC1
Arrival-Date: Fri, 24 Jan 2025 10:59:58 +0000 (UTC)

Final-Recipient: rfc822; old.address@gone.example
Original-Recipient: rfc822;old.address@gone.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.gone.example
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--ABC1.1737716400/mx.shop.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Message-ID: <sb.out.104600.1@shop.example>
Date: Fri, 24 Jan 2025 10:59:57 +0000
From: Shop Support <support@shop.example>
To: old.address@gone.example
Subject: {token(104600)} Your refund

--ABC1.1737716400/mx.shop.example--
""")

add("dsn_exchange_with_original", """
Message-ID: <ndr.1@outlook.example>
Date: Fri, 24 Jan 2025 12:00:00 +0000
From: postmaster@outlook.example
To: support@shop.example
Subject: Undeliverable: Your order has shipped
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="ndr"

--ndr
Content-Type: text/plain; charset=us-ascii

Delivery has failed to these recipients or groups:

closed.mailbox@outlook.example
The email address you entered couldn't be found.

--ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR07MB0001.outlook.example
Received-From-MTA: dns;mx.shop.example

Original-Recipient: rfc822;closed.mailbox@outlook.example
Final-Recipient: rfc822;closed.mailbox@outlook.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound

--ndr
Content-Type: message/rfc822

Message-ID: <sb.out.104601.1@shop.example>
Date: Fri, 24 Jan 2025 11:59:00 +0000
From: Shop Support <support@shop.example>
To: closed.mailbox@outlook.example
Subject: Your order has shipped
Content-Type: text/plain; charset=utf-8

Your order #A10890 has shipped.

--ndr--
""", crlf=True)

add("bounce_exim_failed_recipients", """
Return-Path: <>
Message-ID: <E1tbExim-0001@mx.host.example>
Date: Fri, 24 Jan 2025 13:00:00 +0000
From: Mail Delivery System <Mailer-Daemon@mx.host.example>
To: support@shop.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: typo@gmial.example
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  typo@gmial.example
    host not found
""")

add("list_mailman_reply_to_list", """
Message-ID: <list.1@members.example>
Date: Sat, 25 Jan 2025 09:00:00 +0000
From: Frank Castle <frank@members.example>
Reply-To: returns-club@lists.shop.example
To: returns-club@lists.shop.example
Subject: [returns-club] Tips for sending back large items?
List-Id: Returns club <returns-club.lists.shop.example>
List-Post: <mailto:returns-club@lists.shop.example>
List-Unsubscribe: <mailto:returns-club-leave@lists.shop.example>
Precedence: list
Content-Type: text/plain; charset=utf-8

How do you all pack a sofa for return?
""")

add("list_reply_to_person", """
Message-ID: <list.2@members.example>
Date: Sat, 25 Jan 2025 10:00:00 +0000
From: Forum Robot <forum@community.example>
Reply-To: Grace Lee <grace.lee@mail.example>
To: support@shop.example
Subject: New post in "Orders"
List-Id: <orders.community.example>
Content-Type: text/plain; charset=utf-8

Grace Lee wrote: my order #A10890 never arrived.
""")

add("newsletter_bulk_html", """
Message-ID: <news.2025.01@mailer.partner.example>
Date: Sat, 25 Jan 2025 06:00:00 +0000
From: Partner Deals <news@partner.example>
To: support@shop.example
Subject: 50% off everything this weekend
Precedence: bulk
List-Unsubscribe: <https://partner.example/unsub?u=123>, <mailto:unsub@partner.example>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><h1>Weekend sale</h1><p>Everything <b>50% off</b>.</p><img src="https://partner.example/pixel.gif" width="1" height="1"></body></html>
""")

add("reply_to_differs_from_from", """
Message-ID: <replyto.1@company.example>
Date: Sat, 25 Jan 2025 11:00:00 +0100
From: Nora Berg <nora.berg@company.example>
Reply-To: Nora Berg <nora.private@mail.example>
To: support@shop.example
Subject: Bestellung privat
Content-Type: text/plain; charset=utf-8

Bitte antworten Sie an meine private Adresse. Wo bleibt #A10901?
""")

add("read_receipt_mdn", """
Message-ID: <mdn.1@outlook.example>
Date: Sat, 25 Jan 2025 12:00:00 +0000
From: Mark Wilson <mark.wilson@outlook.example>
To: support@shop.example
Subject: Read: Exchange request #A10600
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain; charset=utf-8

Your message was read on 25 January 2025 12:00.

--mdn
Content-Type: message/disposition-notification

Reporting-UA: outlook.example
Final-Recipient: rfc822;mark.wilson@outlook.example
Original-Message-ID: <sb.out.104400.2@shop.example>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn--
""")

add("auto_submitted_no", """
Message-ID: <autono.1@mail.example>
Date: Sat, 25 Jan 2025 13:00:00 +0000
From: Tina Young <tina.young@mail.example>
To: support@shop.example
Subject: Out of stock?
Auto-Submitted: no
Content-Type: text/plain; charset=utf-8

Is the green rain jacket coming back in size S?
""")

add("own_address_loop", f"""
Message-ID: <sb.out.104700.1@shop.example>
Date: Sat, 25 Jan 2025 14:00:00 +0000
From: Shop Support <support@shop.example>
To: support@shop.example
Subject: Re: {token(104700)} We received your message
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8

Thank you for contacting us. We will answer within one business day.
""")

add("noreply_sender", """
Message-ID: <notify.77@carrier.example>
Date: Sat, 25 Jan 2025 15:00:00 +0000
From: Carrier Notifications <no-reply@carrier.example>
To: support@shop.example
Subject: Shipment 00340434161094042557 delivered
Content-Type: text/plain; charset=utf-8

Your shipment was delivered to the front door.
""")

# ------------------------------------------------------------------------------------------
# Malformed and hostile
# ------------------------------------------------------------------------------------------

add("malformed_wrong_boundary", """
Message-ID: <badbound@mail.example>
Date: Sun, 26 Jan 2025 09:00:00 +0000
From: Victor Hugo <victor@mail.example>
To: support@shop.example
Subject: boundary mismatch
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="declared-boundary"

--actual-boundary
Content-Type: text/plain; charset=utf-8

My order #A10910 is late.

--actual-boundary--
""")

add("malformed_missing_closing_boundary", f"""
Message-ID: <noclose@mail.example>
Date: Sun, 26 Jan 2025 10:00:00 +0000
From: Wendy Wu <wendy.wu@mail.example>
To: support@shop.example
Subject: Photo of the damage
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cut"

--cut
Content-Type: text/plain; charset=utf-8

The vase from #A10920 arrived broken, photo attached.

--cut
Content-Type: image/png; name="vase.png"
Content-Disposition: attachment; filename="vase.png"
Content-Transfer-Encoding: base64

{b64(PNG_1PX)}""")

add("malformed_truncated_base64", f"""
Message-ID: <trunc64@mail.example>
Date: Sun, 26 Jan 2025 11:00:00 +0000
From: Xavier Cole <xavier.cole@mail.example>
To: support@shop.example
Subject: receipt attached
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="t64"

--t64
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{b64('Here is the receipt for #A10930, I paid twice.'.encode())[:-12]}
--t64
Content-Type: application/pdf; name="receipt.pdf"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL)[:333]}
--t64--
""")

add("malformed_header_injection", """
Message-ID: <inject.1@evil.example>
Date: Sun, 26 Jan 2025 12:00:00 +0000
From: =?utf-8?q?Mallory=0D=0ABcc=3A_victim=40target=2Eexample?= <mallory@evil.example>
To: support@shop.example
Subject: =?utf-8?q?Refund_#A10940=0D=0ABcc=3A_everyone=40shop=2Eexample?=
Content-Type: text/plain; charset=utf-8

Refund me.
""")

add("malformed_no_headers", """
Hello, I am writing about my order #A10950. It never arrived.
Please help: I have waited three weeks.
""")

mails["malformed_binary_garbage"] = bytes(random.Random(7).randrange(256) for _ in range(2048))

mails["malformed_empty"] = b""

add("malformed_missing_id_and_date", """
From: Yara Silva <yara.silva@mail.example>
To: support@shop.example
Subject: no id
Content-Type: text/plain; charset=utf-8

Can I pay on invoice for order #A10960?
""")

add("malformed_invalid_date_and_id", """
Message-ID: not an id
Date: yesterday, around noon
From: Zack Ford <zack.ford@mail.example>
To: support@shop.example
Subject: odd headers
Content-Type: text/plain; charset=utf-8

Is #A10970 shipped?
""")

add("malformed_mixed_line_endings", "Message-ID: <mixed.eol@mail.example>\r\nDate: Sun, 26 Jan 2025 13:00:00 +0000\nFrom: Amy Adams\r\n <amy.adams@mail.example>\nTo: support@shop.example\r\nSubject: mixed\r\n line endings\nContent-Type: text/plain; charset=utf-8\r\n\nFirst line\r\nsecond line\nthird line about #A10980\r\n")

add("malformed_nested_same_boundary", """
Message-ID: <samebound@mail.example>
Date: Sun, 26 Jan 2025 14:00:00 +0000
From: Ben Stone <ben.stone@mail.example>
To: support@shop.example
Subject: same boundary twice
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="same"

--same
Content-Type: multipart/alternative; boundary="same"

--same
Content-Type: text/plain; charset=utf-8

Where is order #A10990?
--same--
--same--
""")

add("malformed_headers_only", """
Message-ID: <headers.only@mail.example>
Date: Sun, 26 Jan 2025 15:00:00 +0000
From: Cleo Park <cleo.park@mail.example>
To: support@shop.example
Subject: (no body)
""")

mails["malformed_raw_8bit_headers"] = (
    "Message-ID: <raw8bit@mail.example>\n"
    "Date: Sun, 26 Jan 2025 16:00:00 +0100\n"
    "From: Dörte Weiß <doerte@mail.example>\n"
    "To: support@shop.example\n"
    "Subject: Rückerstattung für #A11000\n"
    "Content-Type: text/plain; charset=utf-8\n\n"
    "Wann kommt meine Rückerstattung?\n"
).encode() .replace(b"D\xc3\xb6rte", "Dörte".encode("iso-8859-1"))

add("malformed_long_line", f"""
Message-ID: <longline@mail.example>
Date: Sun, 26 Jan 2025 17:00:00 +0000
From: Dan Long <dan.long@mail.example>
To: support@shop.example
Subject: very long line
Content-Type: text/plain; charset=utf-8

{"my order #A11010 is late " * 4000}
""")


def nested(depth: int) -> str:
    """A multipart nested `depth` levels deep with a text part at the bottom."""
    head = ""
    tail = ""
    for level in range(depth):
        head += f"Content-Type: multipart/mixed; boundary=\"n{level}\"\n\n--n{level}\n"
        tail = f"\n--n{level}--\n" + tail
    return head + "Content-Type: text/plain; charset=utf-8\n\nDeep inside: order #A11020.\n" + tail


add("malformed_deep_nesting_40", """
Message-ID: <deep40@mail.example>
Date: Sun, 26 Jan 2025 18:00:00 +0000
From: Eli Deep <eli.deep@mail.example>
To: support@shop.example
Subject: deep
MIME-Version: 1.0
""" + nested(40))

many = "".join(f"--many\nContent-Type: text/plain; charset=utf-8\nContent-Disposition: attachment; filename=\"part{idx}.txt\"\n\npart {idx}\n" for idx in range(300))
add("malformed_many_parts", f"""
Message-ID: <manyparts@mail.example>
Date: Sun, 26 Jan 2025 19:00:00 +0000
From: Fay Many <fay.many@mail.example>
To: support@shop.example
Subject: many parts
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="many"

--many
Content-Type: text/plain; charset=utf-8

300 attachments follow for order #A11030.
{many}--many--
""")

add("malformed_invalid_addresses", """
Message-ID: <badaddr@mail.example>
Date: Sun, 26 Jan 2025 20:00:00 +0000
From: Gus Nobody
Reply-To: not-an-address
To: undisclosed-recipients:;
Cc: "Broken" <broken@>, ok.person@mail.example
Subject: addresses
Content-Type: text/plain; charset=utf-8

Who am I? Order #A11040.
""")

add("malformed_unterminated_encoded_word", """
Message-ID: <badew@mail.example>
Date: Sun, 26 Jan 2025 21:00:00 +0000
From: =?utf-8?q?Hal_Broken <hal@mail.example>
To: support@shop.example
Subject: =?utf-8?B?UmVmdW5kIGZvcg==?= =?utf-8?q?_#A11050_unterminated
Content-Type: text/plain; charset=utf-8

Refund for #A11050 please.
""")

add("malformed_bad_quoted_printable", """
Message-ID: <badqp@mail.example>
Date: Sun, 26 Jan 2025 22:00:00 +0000
From: Iris Quinn <iris.quinn@mail.example>
To: support@shop.example
Subject: bad qp
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

The discount =ZZ was not applied to #A11060 =3D wrong total=
 and this line ends with a lone =
""")

add("malformed_message_rfc822_not_a_message", """
Message-ID: <notmsg@mail.example>
Date: Sun, 26 Jan 2025 23:00:00 +0000
From: Jack Rye <jack.rye@mail.example>
To: support@shop.example
Subject: attached message is garbage
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="nm"

--nm
Content-Type: text/plain; charset=utf-8

See the attached mail about #A11070.

--nm
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

!!!! not base64 and not a message !!!!
--nm--
""")

add("malformed_path_in_filenames", f"""
Message-ID: <paths@evil.example>
Date: Mon, 27 Jan 2025 08:00:00 +0000
From: Kai Path <kai.path@evil.example>
To: support@shop.example
Subject: invoice for #A11080
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="p"

--p
Content-Type: text/plain; charset=utf-8

Invoices attached.

--p
Content-Type: application/pdf; name="../../etc/passwd"
Content-Disposition: attachment; filename="../../../etc/cron.d/evil"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL[:64])}
--p
Content-Type: application/pdf
Content-Disposition: attachment; filename="C:\\Users\\kai\\Desktop\\invoice A11080.pdf"
Content-Transfer-Encoding: base64

{b64(PDF_SMALL[:64])}
--p
Content-Type: application/octet-stream
Content-Disposition: attachment; filename=".."

x
--p--
""")


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in mails.items():
        (CORPUS / f"{name}.eml").write_bytes(data)
    print(f"wrote {len(mails)} mails to {CORPUS}")


if __name__ == "__main__":
    main()
