"""Write the bundled demo corpus to data/raw and its ground truth to tests/fixtures/demo_truth.json.

Every article is written out below by hand (fictional outlets, places and people), so the truth
follows from construction: which articles tell one story, which are copies of one another, and
where each shared line (headline, boilerplate, syndicated quote) was put. Running the script
again rewrites the same bytes: record order comes from a seeded shuffle and the gzip header
carries no file name or timestamp.

Usage: python bench/make_demo_corpus.py [--raw-dir DIR] [--truth FILE]
"""

import argparse
import csv
import dataclasses
import gzip
import io
import json
import random
import shutil
from pathlib import Path
from typing import Any

SEED = 20260202
PROJECT = Path(__file__).resolve().parents[1]

HARBOUR = "Harbour Gazette"
NORTHFIELD = "The Northfield Post"
WIRE = "Coastal Wire"
MIDLAND = "Midland Courier"
LAKESIDE = "Lakeside Times"

# Where an article is written follows from its id: a .txt path (which is also the pipeline's
# article_id) or the prefix of a record id.
TXT = "txt"
NP_JSONL = "northfield_post.jsonl"
CW_JSON = "coastal_wire.json"
MC_CSV = "midland_courier.csv"
LT_ARCHIVE = "lakeside_times_archive.jsonl.gz"
BROKEN = "broken.json"
CONTAINER_OF_PREFIX = {"np-": NP_JSONL, "cw-": CW_JSON, "mc-": MC_CSV, "lt-": LT_ARCHIVE}
# Everything the generator owns at the top of data/raw: removed before writing, nothing else is.
OWNED = ("harbour_gazette", "lakeside_times", NP_JSONL, CW_JSON, MC_CSV, LT_ARCHIVE, BROKEN)

# Outlet furniture: a copyright footer on every Harbour Gazette article; on every Northfield Post
# article a corrections footer and, after the second paragraph, a newsletter plug that depends on
# the section (business pages plug the business bulletin).
HG_FOOTER = (
    "© 2026 Harbour Gazette Ltd. All rights reserved. "
    "Get the Morning Tide briefing in your inbox every weekday at 6am."
)
NP_READ_MORE = (
    "Read more: sign up for The Northfield Post Daily, our free newsletter with the day's top stories at 7am."
)
NP_BUSINESS_READ_MORE = (
    "Read more: Money Matters, the Post's weekly bulletin for investors, lands every Friday."
)
NP_FOOTER = (
    "The Northfield Post is part of Northfield Media Group. "
    "Spotted a mistake? Email the corrections desk and we will look into it."
)
FURNITURE = (HG_FOOTER, NP_READ_MORE, NP_BUSINESS_READ_MORE, NP_FOOTER)

# Shared lines placed inside article bodies: a paragraph equal to a key below is replaced.
STRIKE_QUOTE = (
    '"We will not go back to the cranes until the port authority puts a written guarantee on '
    'the table that no job on Fenwick Quay will be lost to automation," said Marta Kowalczyk, '
    "regional secretary of the Harbour and Dock Workers' Union."
)
ELECTION_HEADLINE = "Okafor wins Westmere mayoralty as turnout hits twenty-year high"
VACCINE_HEADLINE = "Regulator approves Respivax, the first single-dose RSV jab for over-60s"
PLACEHOLDERS = {
    "@strike_quote": STRIKE_QUOTE,
    "@election_headline": ELECTION_HEADLINE,
    "@vaccine_headline": VACCINE_HEADLINE,
}
SHARED_SEGMENTS = (
    (HG_FOOTER, "boilerplate"),
    (NP_READ_MORE, "boilerplate"),
    (NP_BUSINESS_READ_MORE, "boilerplate"),
    (NP_FOOTER, "boilerplate"),
    (STRIKE_QUOTE, "syndicated"),
    (ELECTION_HEADLINE, "headline"),
    (VACCINE_HEADLINE, "headline"),
)
HEADLINES = tuple(text for text, role in SHARED_SEGMENTS if role == "headline")

# Bad input: a malformed JSON file and one truncated line inside the otherwise good JSONL.
BROKEN_JSON = '[\n  {"id": "cw-draft-0001", "title": "Draft: council budget", "text": "Unfinished upl\n'
BAD_JSONL_LINE = 5  # 1-based line number of the truncated record in northfield_post.jsonl
BAD_JSONL_RECORD = '{"id": "np-20260301-council-tax", "title": "Council tax to rise", "text": "Northfield'

# A body (without outlet furniture) of this many words reads like a news article; a truncated
# reprint keeps at least the minimum, so containment has enough shingles to go on.
MIN_WORDS, MAX_WORDS = 150, 400
_METADATA_KEYS = ("source", "published", "title", "url", "section")


@dataclasses.dataclass(frozen=True)
class Doc:
    """One article as written: its id, story, metadata and paragraphs (one line each)."""

    article_id: str
    story: str
    paragraphs: tuple[str, ...]
    source: str | None = None
    published: str | None = None
    title: str | None = None
    url: str | None = None
    section: str | None = None
    copy_of: str | None = None  # the article this one reprints (both are one duplicate group)

    @property
    def container(self) -> str:
        if self.article_id.endswith(".txt"):
            return TXT
        return CONTAINER_OF_PREFIX[self.article_id[:3]]


def parse_article(block: str) -> Doc:
    """Read an article block: ``key: value`` header lines, a blank line, then the body.

    Body paragraphs are separated by blank lines and hand-wrapped; each becomes one line.
    """
    header, body = block.strip().split("\n\n", 1)
    fields = dict(line.split(": ", 1) for line in header.split("\n"))
    unknown = set(fields) - {"id", "story", *_METADATA_KEYS}
    if unknown:
        raise ValueError(f"unknown header keys {sorted(unknown)}")
    paragraphs = tuple(" ".join(p.split()) for p in body.split("\n\n"))
    return Doc(
        article_id=fields.pop("id"),
        story=fields.pop("story"),
        paragraphs=tuple(PLACEHOLDERS.get(p, p) for p in paragraphs),
        **fields,
    )


# -------------------------------------------------------------------------------------------------
# Story: dockworkers strike at the Port of Carrow (2-7 February 2026). The quote is carried verbatim
# by three outlets' articles (syndicated).

STRIKE_DAY1 = """
id: harbour_gazette/strike_day1.txt
story: port-strike
source: Harbour Gazette
published: 2026-02-02T18:30:00+00:00
title: Dockworkers walk out at Port of Carrow over crane automation plan
url: https://harbourgazette.example/news/2026/02/02/strike_day1

More than 1,400 dockworkers at the Port of Carrow walked off the job at six o'clock on Monday
morning, halting container traffic at Fenwick Quay and leaving a line of cargo ships waiting at
anchor in Carrow Roads.

The strike was called by the Harbour and Dock Workers' Union after talks with the Carrow Port
Authority over a plan to install eight remote-controlled cranes at the terminal broke down late on
Friday. Union members voted by 87 per cent to take action in a ballot held last month.

@strike_quote

By Monday afternoon pickets had gathered at both gates of Fenwick Quay, and the harbour master's
office confirmed that 23 vessels were waiting off the coast, among them two refrigerated ships
carrying fruit for supermarkets across the region.

Graham Ellery, chief executive of the Carrow Port Authority, said the automation programme was
essential if the port was to compete with larger terminals further along the coast. He insisted
that no dockworker would be made compulsorily redundant and said the authority remained "ready to
talk at any hour".

The walkout is the first full stoppage at the Port of Carrow since 1998. The union has said it will
continue indefinitely unless the authority changes its position, and no further meeting between the
two sides has yet been scheduled.
"""

STRIKE_SUPPLY = """
id: np-20260203-port-strike
story: port-strike
source: The Northfield Post
published: 2026-02-03T07:30:00Z
title: Carrow port strike threatens supply chains as ships queue offshore
url: https://northfieldpost.example/business/np-20260203-port-strike
section: business

Retailers and manufacturers across the north are bracing for shortages after a strike by
dockworkers closed the container terminal at the Port of Carrow for a second day.

Idris Mahon, president of the Carrow Chamber of Commerce, estimated that the stoppage at Fenwick
Quay was costing the regional economy around £6 million a day, with car parts, chilled food and
building materials among the goods stuck on ships waiting offshore.

The Harbour and Dock Workers' Union began the walkout on Monday in protest at the Carrow Port
Authority's plan to replace manned cranes with eight remote-controlled machines. The union says as
many as 300 dockworker jobs could eventually disappear.

@strike_quote

The port authority argues that automation would make the terminal safer and cut the time ships
spend alongside, which it needs to win new shipping contracts. Its chief executive, Graham Ellery,
has offered to meet the union "without preconditions".

Logistics firms said some importers had already begun rerouting cargo through other ports. "A week
of this and you will see gaps on the shelves," said Chloe Adeyemi, an analyst at the consultancy
Meridian Freight.
"""

STRIKE_WIRE = """
id: cw-20260203-carrow-strike
story: port-strike
source: Coastal Wire
published: 2026-02-03T11:45:00+00:00
title: Strike at Carrow container terminal enters second day
url: https://coastalwire.example/cw-20260203-carrow-strike

CARROW, Feb 3 (Coastal Wire) - A strike by dockworkers at the Port of Carrow entered its second day
on Tuesday, with no talks scheduled and more than two dozen cargo vessels anchored off the coast.

About 1,400 members of the Harbour and Dock Workers' Union stopped work on Monday over the Carrow
Port Authority's plans to automate the Fenwick Quay container terminal, which handles roughly a
third of the region's imported goods.

The authority wants to install eight remote-controlled cranes at a cost of £120 million over the
next three years. The union argues the project would cut hundreds of jobs and has demanded a
binding guarantee on employment.

@strike_quote

In a statement, chief executive Graham Ellery said the authority had offered retraining to every
crane driver and would not make anyone compulsorily redundant. He called on the union to return to
the negotiating table.

The stoppage is the first at the port in almost three decades. Shipping lines including Nordvik
Lines said they were considering diverting vessels to other terminals if the dispute continued
beyond the end of the week.
"""

STRIKE_TALKS = """
id: harbour_gazette/strike_talks.txt
story: port-strike
source: Harbour Gazette
published: 2026-02-05T17:10:00+00:00
title: Carrow port strike: union to ballot members on new offer after marathon talks
url: https://harbourgazette.example/news/2026/02/05/strike_talks

Striking dockworkers at the Port of Carrow will be asked to vote on a revised offer after eleven
hours of talks between the Harbour and Dock Workers' Union and the Carrow Port Authority ended
shortly before midnight on Wednesday.

Under the proposal, crane drivers and stevedores at Fenwick Quay would receive a 4.2 per cent pay
rise this year and a written pledge that there will be no redundancies linked to the new
remote-controlled cranes for at least two years. Staff who retrain as remote crane operators would
be paid an extra allowance.

Marta Kowalczyk, the union's regional secretary, described the offer as "a serious step forward"
but stopped short of recommending it. The ballot closes on Saturday, and picket lines at the
Fenwick Quay gates will stay in place until the result is known.

The talks were chaired by the Regional Conciliation Service at its offices on Dock Street. Graham
Ellery, the port authority's chief executive, said he was "cautiously hopeful" that the dispute
could be settled by the weekend.

The four-day stoppage has left more than thirty ships queuing outside the harbour and forced
hauliers to divert containers to terminals as far away as Saltmarsh Point, adding days to
deliveries.

Businesses around the harbour say they are feeling the strain. "Every day the cranes stand still
costs us orders," said Sofia Brandt, who runs a freight forwarding firm on Quay Road.
"""

STRIKE_ENDS = """
id: lt-20260207-carrow-strike-ends
story: port-strike
source: Lakeside Times
published: 2026-02-07T20:00:00+00:00
title: Carrow dockworkers vote to end strike and accept pay deal
url: https://lakesidetimes.example/lt-20260207-carrow-strike-ends

Cranes were moving again at the Port of Carrow on Saturday evening after dockworkers voted to
accept a revised pay and jobs offer, ending a six-day strike that had left dozens of ships stranded
offshore.

Members of the Harbour and Dock Workers' Union backed the deal by 71 per cent in a ballot that
closed at noon. Turnout among the 1,400 workers at Fenwick Quay was 92 per cent.

The agreement gives dockworkers a 4.2 per cent pay rise and a two-year guarantee of no compulsory
redundancies linked to the remote-controlled cranes that the Carrow Port Authority plans to
install. A joint committee of managers and union representatives will oversee retraining.

Marta Kowalczyk, the union's regional secretary, said members had "won protections that did not
exist a week ago", though she admitted that some had wanted to hold out for a permanent jobs
guarantee.

Graham Ellery, chief executive of the port authority, thanked the conciliation service and said the
backlog of ships would be cleared within ten days. The first vessel to berth was a Nordvik Lines
container ship that had waited at anchor in Carrow Roads since Monday.

The Carrow Chamber of Commerce estimated that the dispute had cost the local economy more than £30
million.
"""

# -------------------------------------------------------------------------------------------------
# Story: Storm Ilse floods Ashby on the River Wend (10-12 February 2026). The wire story is long
# enough for the Lakeside Times to reprint its first half.

ILSE_TOWN = """
id: harbour_gazette/storm_ilse_ashby.txt
story: storm-ilse
source: Harbour Gazette
published: 2026-02-10T19:05:00+00:00
title: Ashby residents count the cost as floodwater swamps town centre
url: https://harbourgazette.example/news/2026/02/10/storm_ilse_ashby

Shopkeepers in Ashby spent Tuesday bailing out their premises after Storm Ilse sent the River Wend
surging through the town centre overnight, leaving Market Square under almost a metre of brown
water.

The Rivers Agency said the river reached 4.8 metres at Ashby Bridge, the highest reading since
records began. Emergency crews took 85 people to safety and about 2,000 residents were told to
leave their homes.

Tom Ashworth, who has run a hardware shop on Bridge Street for 31 years, said the flood had
destroyed most of his stock. "We had sandbags at the door but the water just came up through the
drains," he said.

Ashby District Council leader Priya Raman visited the rest centre at Ashby Leisure Centre, where
families were given hot meals and dry clothes by volunteers. She said the council would set up a
hardship fund for residents whose homes had been damaged by the flood.

The Holm Moor weather station recorded 140 millimetres of rain during the storm. Forecasters said
the ground was already saturated after a wet January, leaving little room for the rain to soak
away.

The A614 remains closed and the Ashby railway line is not expected to reopen before the weekend.
"""

ILSE_WIRE = """
id: cw-20260210-storm-ilse
story: storm-ilse
source: Coastal Wire
published: 2026-02-10T09:20:00+00:00
title: Storm Ilse: hundreds of homes flooded as River Wend bursts its banks in Ashby
url: https://coastalwire.example/cw-20260210-storm-ilse

ASHBY, Feb 10 (Coastal Wire) - Hundreds of homes were flooded and about 2,000 people were evacuated
from the market town of Ashby on Tuesday after Storm Ilse pushed the River Wend to its highest
level on record.

The river peaked at 4.8 metres at the Ashby Bridge gauge shortly after 3am, more than a metre above
the previous record set in 2007, according to the Rivers Agency. Around 600 properties in the Mill
Lane, Tanners Row and Wend Meadows areas of the town were under water by daybreak.

Firefighters and volunteer lifeboat crews rescued 85 people from upstairs windows and car roofs
during the night. Nobody was reported seriously injured, but an elderly man was treated in hospital
for hypothermia after being pulled from his flooded bungalow.

The storm dumped 140 millimetres of rain on the Holm Moor hills above Ashby in 36 hours, almost
twice the average for the whole of February, forecasters said. Gusts of up to 70 miles per hour
brought down trees across the county.

Ashby District Council opened a rest centre at Ashby Leisure Centre, where more than 300 people
spent the night on camp beds. Council leader Priya Raman said the town had "never seen anything
like it" and asked residents to stay away from the river until the water had receded.

The A614 between Ashby and Holm Cross was closed because of flooding and fallen trees, and rail
services on the Ashby line were suspended after water covered the tracks near Wend Junction.

The Rivers Agency said levels were expected to fall slowly over the next two days but warned that
more rain forecast for Thursday could cause problems downstream. Six severe flood warnings remained
in force along the Wend on Tuesday evening.

Residents described waking to find water pouring through their front doors. "It came up through the
floorboards in about twenty minutes," said Karen Whitlow, who lives on Tanners Row with her two
children. "We grabbed the dog and the passports and that was it."

Ministers said emergency funding would be made available to households and businesses affected by
the flooding in Ashby and the surrounding villages.
"""

ILSE_DEFENCES = """
id: np-20260211-ashby-defences
story: storm-ilse
source: The Northfield Post
published: 2026-02-11T08:15:00Z
title: Ashby flood: questions over defences as River Wend recedes
url: https://northfieldpost.example/news/np-20260211-ashby-defences
section: news

As the River Wend began to fall on Wednesday, residents of Ashby were asking why flood defences
promised after the town's last major flood in 2007 had never been built.

Plans for a £14 million embankment along Wend Meadows were approved by the Rivers Agency in 2015
but shelved two years later after costs rose. Storm Ilse flooded around 600 homes in Ashby on
Tuesday, many of them in the area the scheme was designed to protect.

"We were told it was a matter of when, not if, and then nothing happened," said Gareth Lloyd,
chairman of the Wend Meadows Residents' Association, whose own house took in 60 centimetres of
water.

Priya Raman, leader of Ashby District Council, said she would write to ministers asking for the
embankment scheme to be revived. The Rivers Agency said it would review the project "in light of
the exceptional conditions" during Storm Ilse.

About 2,000 people were evacuated when the river peaked at a record 4.8 metres at Ashby Bridge.
Most have been allowed back, but around 150 remain in temporary accommodation.

Clean-up crews were out in force on Mill Lane and Tanners Row, where skips filled with ruined
carpets, sofas and fridges lined the pavements.
"""

ILSE_CLAIMS = """
id: mc-20260212-ilse-claims
story: storm-ilse
source: Midland Courier
published: 2026-02-12
title: Storm Ilse flood claims expected to top £45m, say insurers
url: https://midlandcourier.example/mc-20260212-ilse-claims

Insurers expect to pay out more than £45 million to households and businesses in Ashby after Storm
Ilse flooded the town earlier this week, according to early estimates from the Association of
Property Insurers.

Loss adjusters began visiting homes in the Mill Lane and Wend Meadows districts on Thursday, two
days after the River Wend rose to a record 4.8 metres. The average claim for a flooded home in
Ashby is expected to be around £40,000.

The association urged policyholders to photograph damage before throwing anything away and to
contact their insurer as soon as possible. It said emergency payments for temporary accommodation
would be made within 48 hours.

Some Ashby residents said they had struggled to find flood cover since 2007. Under the Floodshield
scheme, homes built before 2009 can get policies at capped prices, but small businesses are not
included.

"A lot of the shops on Market Square had no flood cover at all because the premiums were
unaffordable," said Helen Marsh of the Ashby Traders' Association. "For some of them this will be
the end."

Ashby District Council said its hardship fund for victims of Storm Ilse had received more than 400
applications on its first day.
"""

# -------------------------------------------------------------------------------------------------
# Story: Lumeris Systems agrees to buy Kestrel Data (17-20 February 2026).

MERGER_WIRE = """
id: cw-20260217-lumeris-kestrel
story: merger
source: Coastal Wire
published: 2026-02-17T07:05:00+00:00
title: Lumeris agrees £2.3bn takeover of Kestrel Data
url: https://coastalwire.example/cw-20260217-lumeris-kestrel

EASTHOLME, Feb 17 (Coastal Wire) - Software group Lumeris Systems has agreed to buy rival Kestrel
Data for £2.3 billion in cash, creating one of the largest independent providers of data analytics
tools for hospitals and local government.

Lumeris will pay 410 pence for each Kestrel share, a premium of 31 per cent to Kestrel's closing
price on Friday. The Kestrel board has unanimously recommended the offer to shareholders, who will
vote on the deal in May.

Lumeris chief executive Hannah Voss said the combination would allow the company to "invest at a
scale neither business could manage alone", and forecast annual cost savings of £85 million by the
third year.

Kestrel Data was founded in Eastholme in 2009 by Rafael Ortega, who will join the Lumeris board as
a non-executive director. Ortega owns about 12 per cent of Kestrel and has agreed to back the
offer.

The enlarged group will employ around 5,200 people. Lumeris said some overlapping roles would be
cut but did not give a figure.

The deal is subject to approval by the Competition and Markets Office, which is expected to examine
the companies' combined share of the market for public sector analytics software.
"""

MERGER_JOBS = """
id: harbour_gazette/kestrel_jobs.txt
story: merger
source: Harbour Gazette
published: 2026-02-18T12:00:00+00:00
title: Kestrel staff in Eastholme fear for jobs after Lumeris takeover
url: https://harbourgazette.example/news/2026/02/18/kestrel_jobs

Staff at Kestrel Data's headquarters in Eastholme are anxious about their futures after the company
agreed to be taken over by its larger rival Lumeris Systems in a £2.3 billion deal.

Around 900 people work at Kestrel's campus on the edge of the town, making it one of the area's
largest private employers. Lumeris expects to save £85 million a year by combining the two
businesses, and unions fear many of those savings will come from jobs.

"People are reading the announcement and seeing 'overlapping roles' and thinking, that's me," said
one Kestrel software engineer, who asked not to be named.

Hannah Voss, the Lumeris chief executive, visited the Eastholme campus on Wednesday and told
employees that the town would remain "a centre of excellence" for the combined company. She said it
was too early to say how many roles would go.

Kestrel founder Rafael Ortega, who started the firm in a spare bedroom in 2009, said in a message
to staff that the takeover would give their products "a far bigger stage". He stands to make about
£270 million from the sale of his shares.

Eastholme's council leader, Amir Latif, said he had asked for an urgent meeting with Lumeris
executives to discuss the future of the Kestrel campus.
"""

MERGER_SHARES = """
id: np-20260218-kestrel-shares
story: merger
source: The Northfield Post
published: 2026-02-18T09:45:00Z
title: Kestrel Data shares jump 27% on Lumeris bid
url: https://northfieldpost.example/business/np-20260218-kestrel-shares
section: business

Shares in Kestrel Data jumped 27 per cent on Tuesday after the Eastholme-based software company
agreed to a £2.3 billion cash takeover by Lumeris Systems.

Kestrel closed at 398 pence, just below the offer price of 410p a share, suggesting investors
expect the deal to go through. Lumeris shares fell 4 per cent as some analysts questioned whether
it was paying too much for Kestrel.

"It's a full price for a business whose growth has slowed over the past two years," said Lucinda
Grey, an analyst at Harcourt Securities. "Lumeris needs those £85 million of savings to make the
numbers work."

Lumeris chief executive Hannah Voss told investors on a conference call that the two companies'
analytics products were "highly complementary" and that customers would benefit from faster
development of new features.

The takeover is likely to be examined by the Competition and Markets Office, because Lumeris and
Kestrel are two of the three biggest suppliers of analytics software to councils and hospital
trusts.

Kestrel's founder Rafael Ortega, who owns roughly 12 per cent of the company, has given an
irrevocable undertaking to accept the Lumeris offer.
"""

MERGER_REVIEW = """
id: mc-20260220-lumeris-review
story: merger
source: Midland Courier
published: 2026-02-20
title: Competition watchdog opens review of Lumeris-Kestrel deal
url: https://midlandcourier.example/mc-20260220-lumeris-review

The Competition and Markets Office has opened a preliminary review of Lumeris Systems' planned £2.3
billion takeover of Kestrel Data, citing concerns from hospital trusts and councils that rely on
the two companies' analytics software.

The regulator said it would decide within 40 working days whether to refer the deal for an in-depth
investigation. Together, Lumeris and Kestrel supply analytics tools to more than 60 per cent of
hospital trusts in the country.

Dr Neil Ashcombe, chief information officer at the Midland Hospitals Group, said trusts were
worried about fewer choices and higher prices. "If these two firms combine, there is really only
one serious supplier left," he said.

Lumeris said it would cooperate fully with the review and was confident the takeover would be
cleared. Chief executive Hannah Voss has argued that the combined company will face strong
competition from large American cloud providers.

Kestrel shareholders are due to vote in May on the offer of 410 pence per share. Completion is
expected in the third quarter if the Competition and Markets Office approves the deal.
"""

# -------------------------------------------------------------------------------------------------
# Story: striker Dario Mensah joins Castlebury United (24-28 February 2026).

TRANSFER_WIRE = """
id: cw-20260224-mensah
story: transfer
source: Coastal Wire
published: 2026-02-24T16:30:00+00:00
title: Castlebury United sign striker Dario Mensah for club-record £18m
url: https://coastalwire.example/cw-20260224-mensah

CASTLEBURY, Feb 24 (Coastal Wire) - Castlebury United have signed striker Dario Mensah from
Redbridge Rovers for a club-record fee of £18 million, the two clubs announced on Tuesday.

Mensah, 24, has agreed a five-year contract after passing a medical at Castlebury's Elmfield
training ground on Monday evening. The fee could rise to £21 million with add-ons linked to
appearances and goals.

The forward has scored 21 goals in 29 league matches for Redbridge this season, making him the
division's leading scorer. He joined the Rovers academy at the age of 12.

Castlebury manager Lena Hartmann said Mensah was "the player we wanted above all others" and
praised his pace and finishing. Her side are fourth in the table, three points off the promotion
places.

Redbridge chairman Victor Asante said the club had rejected two earlier bids for Mensah but could
not turn down an offer of this size. The previous record fee paid by Castlebury was £11.5 million
for midfielder Joel Strand in 2023.
"""

TRANSFER_FANS = """
id: np-20260225-mensah-fans
story: transfer
source: The Northfield Post
published: 2026-02-25T21:00:00Z
title: Redbridge fans angry as Mensah leaves for Castlebury
url: https://northfieldpost.example/sport/np-20260225-mensah-fans
section: sport

Redbridge Rovers supporters have reacted angrily to the sale of their top scorer Dario Mensah to
Castlebury United, with a fans' group demanding that the board explain how the £18 million fee will
be spent.

Mensah, who came through the Rovers academy, completed his record move on Tuesday after scoring 21
league goals this season. Many Redbridge supporters had hoped he would stay at least until the
summer.

"Selling your best player in the middle of a season tells the dressing room you have given up,"
said Carla Nwosu, chair of the Redbridge Supporters' Trust. The trust has organised a protest
outside the Brook Lane ground before Saturday's home match.

Redbridge chairman Victor Asante defended the sale in an open letter, saying the money would pay
for a new training centre and secure the club's finances for years to come.

At Castlebury, manager Lena Hartmann said Mensah could make his debut against Stonebridge Athletic
on Saturday. More than 2,000 Castlebury fans have already bought replica shirts bearing the
striker's name, the club said.
"""

TRANSFER_UNVEIL = """
id: lt-20260226-mensah-unveiled
story: transfer
source: Lakeside Times
published: 2026-02-26T14:00:00+00:00
title: Mensah: Castlebury move is a dream come true
url: https://lakesidetimes.example/lt-20260226-mensah-unveiled

Dario Mensah said joining Castlebury United was "a dream come true" as he was unveiled at the
club's Elmfield training ground on Wednesday, a day after his £18 million move from Redbridge
Rovers.

The 24-year-old striker, who grew up a few miles from the Castlebury stadium, said he had supported
the club as a boy and held a season ticket with his father.

"I owe everything to Redbridge, and I'll never forget what they did for me, but when Castlebury
came in I couldn't say no," Mensah told reporters. He will wear the number nine shirt.

Manager Lena Hartmann said Mensah would go straight into the squad for Saturday's match against
Stonebridge Athletic. "He scores goals, he works hard and he wants to be here. That's all I ask,"
she said.

Mensah's 21 league goals for Redbridge this season have put him top of the division's scoring
charts. Castlebury, currently fourth, are chasing a first promotion in eleven years.
"""

TRANSFER_DEBUT = """
id: harbour_gazette/mensah_debut.txt
story: transfer
source: Harbour Gazette
published: 2026-02-28T19:30:00+00:00
title: Mensah scores twice on Castlebury debut
url: https://harbourgazette.example/news/2026/02/28/mensah_debut

Dario Mensah marked his Castlebury United debut with two goals as his new club beat Stonebridge
Athletic 3-1 on Saturday, four days after his club-record £18 million move from Redbridge Rovers.

The 24-year-old striker opened the scoring after eleven minutes, turning sharply in the penalty
area and firing low past the Stonebridge goalkeeper, and added a second with a header from a corner
shortly after half-time.

The crowd of 19,400, Castlebury's biggest of the season, chanted his name throughout. Many
supporters were already wearing replica shirts with Mensah and the number nine on the back.

"That's why we paid the money," said Castlebury manager Lena Hartmann. "He has been with us for
four days and he already looks like he has been here for years."

The win lifts Castlebury to third in the table, level on points with the promotion places. Mensah's
former club, Redbridge Rovers, lost 2-0 away from home on the same afternoon, amid protests from
supporters angry about his sale.
"""

# -------------------------------------------------------------------------------------------------
# Story: Adaeze Okafor elected mayor of Westmere (5-7 March 2026). The two Lakeside Times pieces have
# no sidecar (no title, no date) and end with one package headline, as scraped pages often do.

ELECTION_RESULT = """
id: np-20260306-westmere-mayor
story: election
source: The Northfield Post
published: 2026-03-06T04:10:00Z
title: Adaeze Okafor elected mayor of Westmere
url: https://northfieldpost.example/politics/np-20260306-westmere-mayor
section: politics

Adaeze Okafor of the Civic Alliance has been elected mayor of Westmere, ending twelve years of
Progress Party control in one of the biggest upsets in the city's recent political history.

Okafor won 41,208 votes, or 52.6 per cent, against 31,977 for the sitting mayor Douglas Fairlie,
when the result was declared at Westmere Civic Hall in the early hours of Friday. Turnout was 46.3
per cent, the highest for a Westmere mayoral election in twenty years.

In her victory speech Okafor, a former headteacher, promised to freeze bus fares for two years and
to build 2,000 affordable homes on disused industrial land along the Westmere Canal.

Fairlie, who had been seeking a fourth term as mayor, conceded defeat and wished his successor
well. "The people of Westmere have spoken and I respect their verdict," he said.

Political analysts said anger over rising council tax and the closure of three city libraries had
damaged the Progress Party campaign, while Okafor drew large crowds at rallies in the Canalside and
Hill Top wards.
"""

ELECTION_ANALYSIS = """
id: mc-20260307-westmere-okafor
story: election
source: Midland Courier
published: 2026-03-07
title: What Okafor's victory means for Westmere
url: https://midlandcourier.example/mc-20260307-westmere-okafor

Westmere's new mayor, Adaeze Okafor, takes office on Monday with an ambitious programme and a city
council on which her Civic Alliance does not hold a majority.

Okafor's decisive win over Douglas Fairlie on Thursday — 52.6 per cent of the vote to his 40.8 —
gives her a strong personal mandate. But the Progress Party remains the largest group on Westmere
City Council and could block her first budget.

Her flagship pledge, a two-year freeze on bus fares, will cost an estimated £9 million a year.
Okafor says it will be paid for by cutting spending on consultants and selling the council's stake
in Westmere Airport.

The promise of 2,000 affordable homes along the Westmere Canal depends on government grants that
have not yet been confirmed.

Professor Ruth Kimani of Westmere University said the 46.3 per cent turnout showed how energised
voters had been. "Okafor brought people to the polls who have not voted in a mayoral election for a
generation," she said.

Okafor is the first woman to lead the city since the post of mayor was created in 2002.
"""

ELECTION_COUNT = """
id: lakeside_times/westmere_count.txt
story: election

It was just after 2am when the returning officer stepped up to the microphone at Westmere Civic
Hall and read out the numbers that ended Douglas Fairlie's twelve years as mayor.

Adaeze Okafor, the Civic Alliance candidate, had taken 41,208 votes. Fairlie, standing for the
Progress Party, had 31,977. Three other mayoral candidates shared the remaining 5,155 votes.

Okafor's supporters, many of them wearing the Civic Alliance's green scarves, had packed the
balcony of the hall since midnight as ballot boxes arrived from across Westmere. When the result
was announced, the cheering could be heard in the street outside.

Turnout was 46.3 per cent, up from 31 per cent four years ago. Election officials said queues had
formed at polling stations in the Canalside and Hill Top wards in the final hour of voting.

Okafor, 49, spent twenty years as a teacher and headteacher in Westmere before entering politics.
In a short speech she thanked her family and her campaign volunteers and promised to be "a mayor
for every street in this city".

Fairlie left Westmere Civic Hall shortly after the declaration without speaking to reporters.

@election_headline
"""

ELECTION_REACTION = """
id: lakeside_times/westmere_reaction.txt
story: election

Business leaders, unions and community groups in Westmere have welcomed the election of Adaeze
Okafor as mayor, although some warned that her spending plans would be hard to deliver.

The Westmere Business Forum said it looked forward to working with the new mayor on plans to
regenerate the Westmere Canal corridor, where Okafor has promised 2,000 affordable homes.

Transport campaigners praised her pledge to freeze bus fares for two years. "For families on low
incomes this is a big deal," said Derek Osei of Westmere Bus Users.

The Progress Party's group leader on the city council, Alan Pryce, said his councillors would
scrutinise every proposal from the new mayor. He said Okafor's sums "simply do not add up".

Douglas Fairlie issued a short statement on Friday afternoon thanking the council staff who had
worked with him during his three terms as mayor.

Okafor will be sworn in at Westmere Civic Hall on Monday. Her first decision as mayor will be the
appointment of a deputy.

@election_headline
"""

# -------------------------------------------------------------------------------------------------
# Story: the Respivax RSV vaccine is approved (13-14 March 2026). Two Lakeside Times pieces start with
# one package headline; their sidecars give no title, so it becomes their title.

VACCINE_WIRE = """
id: cw-20260313-respivax
story: vaccine
source: Coastal Wire
published: 2026-03-13T10:00:00+00:00
title: Medicines regulator approves Halden's single-dose RSV vaccine
url: https://coastalwire.example/cw-20260313-respivax

KINGSPORT, March 13 (Coastal Wire) - The National Medicines Authority has approved Respivax, a
single-dose vaccine against respiratory syncytial virus (RSV) made by Halden Biologics, for use in
adults aged 60 and over.

The approval follows a trial involving about 24,000 people in nine countries, in which the vaccine
was 82 per cent effective at preventing severe lower respiratory illness during the first winter
after vaccination.

RSV causes cold-like symptoms in most people but can lead to pneumonia in older adults, and is
estimated to put around 8,000 people over 60 in hospital each winter.

Halden chief executive Mark Lindqvist said the company was ready to supply "several million doses"
before the autumn. The price agreed with health services has not been disclosed.

The most common side effects in the trial were a sore arm, tiredness and headache, which usually
cleared within two days, the authority said.

Dr Sunita Bal, the chief medical adviser, said a decision on who would be offered the RSV vaccine
first would be made by the Joint Committee on Immunisation within weeks.
"""

VACCINE_APPROVED = """
id: lakeside_times/rsv_jab_approved.txt
story: vaccine
source: Lakeside Times
published: 2026-03-13T18:00:00+00:00
url: https://lakesidetimes.example/health/rsv-jab-approved

@vaccine_headline

Older people could be offered a single jab against RSV as early as this autumn after the National
Medicines Authority approved a new vaccine from Halden Biologics on Friday.

Respivax is the first RSV vaccine to need only one dose for adults aged 60 and over. In a trial of
24,000 volunteers it cut cases of severe chest infection by 82 per cent.

Dr Farah Quilty, a consultant in respiratory medicine at Lakeside General Hospital, said the
approval was "genuinely good news" for her patients. "Every winter we see older people with RSV who
end up on oxygen for days," she said.

The respiratory virus is best known for causing bronchiolitis in babies, but doctors say its impact
on elderly people has long been underestimated.

Halden Biologics, which makes the vaccine at a plant in Kingsport, said it expected to deliver the
first batches of Respivax in September.

The Joint Committee on Immunisation will advise on which age groups should be offered the RSV
vaccine first.
"""

VACCINE_SHARES = """
id: np-20260314-halden-shares
story: vaccine
source: The Northfield Post
published: 2026-03-14T08:00:00Z
title: Halden shares rise as RSV vaccine wins approval
url: https://northfieldpost.example/business/np-20260314-halden-shares
section: business

Shares in Halden Biologics rose 9 per cent on Friday after its single-dose RSV vaccine, Respivax,
was approved for adults aged 60 and over by the National Medicines Authority.

Analysts expect Respivax to generate sales of more than £400 million a year by 2029, making it
Halden's biggest product. Two rival RSV vaccines already on the market require a booster after two
years.

Halden chief executive Mark Lindqvist said the approval was "the result of eight years of work by
our scientists in Kingsport". He said the company had already built up stocks of the vaccine in
anticipation of the decision.

In the main trial, which enrolled around 24,000 adults, Respivax was 82 per cent effective against
severe RSV illness. Side effects were mostly mild, such as a sore arm or tiredness.

Dr Sunita Bal, the chief medical adviser, said the vaccine could prevent thousands of hospital
admissions each winter once it is rolled out to older adults.
"""

VACCINE_ROLLOUT = """
id: lakeside_times/rsv_jab_rollout.txt
story: vaccine
source: Lakeside Times
published: 2026-03-14T11:30:00+00:00
url: https://lakesidetimes.example/health/rsv-jab-rollout

@vaccine_headline

GP surgeries and pharmacies in the Lakeside area are preparing to offer the newly approved Respivax
vaccine to thousands of older patients this autumn, health officials said on Saturday.

Lakeside Health Board said around 45,000 residents aged 60 and over could be eligible for the
single-dose RSV jab, depending on advice from the Joint Committee on Immunisation.

The board's director of public health, Dr Kwame Asare, said the vaccine would probably be offered
alongside the annual flu jab so that people could get both at one appointment.

"The trial results, with 82 per cent protection against severe illness, are very encouraging," he
said. "We want to make sure nobody who is eligible misses out."

Halden Biologics, the manufacturer, has said it can supply several million doses before winter. The
National Medicines Authority approved Respivax on Friday after reviewing data from a trial of
24,000 people.

Pharmacists welcomed the plans but said they would need extra funding to cope with demand for the
RSV vaccine.
"""

# -------------------------------------------------------------------------------------------------
# Story: Storm Brannagh floods Kilvern on the River Dunn (14-16 April 2026). Two months after
# Storm Ilse and told in the same vocabulary: only names and the time window tell the two apart.

BRANNAGH_WIRE = """
id: cw-20260414-brannagh
story: storm-brannagh
source: Coastal Wire
published: 2026-04-14T13:15:00+01:00
title: Storm Brannagh floods Kilvern as River Dunn overtops barriers
url: https://coastalwire.example/cw-20260414-brannagh

KILVERN, April 14 (Coastal Wire) - Storm Brannagh flooded about 340 homes in the hill town of
Kilvern on Tuesday when the River Dunn spilled over temporary barriers, forcing the evacuation of
two care homes and a primary school.

The Rivers Agency said the Dunn rose to 3.9 metres at the Millbrook gauge, its highest level since
1968. Around 110 millimetres of rain fell on the Carnedd Ridge above Kilvern in a single day.

Mountain rescue teams and firefighters used boats to reach residents trapped in the Lower Kilvern
and Quarry Bank areas. Police said one driver was missing after her car was swept off a ford near
Pennant Bridge.

Kilvern County Council leader Owen Pritchard said the council had opened an emergency shelter at St
Brynach's church hall and appealed for volunteers with four-wheel-drive vehicles.

Storm Brannagh, the fourth named storm of the season, also cut power to 18,000 properties across
the region. Engineers from Western Grid said most supplies would be restored by Wednesday evening.
"""

BRANNAGH_HOMES = """
id: harbour_gazette/kilvern_homes.txt
story: storm-brannagh
source: Harbour Gazette
published: 2026-04-15T20:30:00+01:00
title: Kilvern flood victims face weeks out of their homes
url: https://harbourgazette.example/news/2026/04/15/kilvern_homes

Families in Kilvern have been warned that they may not be able to return to their homes for weeks
after Storm Brannagh sent the River Dunn through the lower half of the town on Tuesday.

Surveyors from Kilvern County Council said many of the 340 flooded properties, most of them old
stone terraces in Lower Kilvern and Quarry Bank, would need to dry out for a month or more before
repairs could begin.

The Dunn reached 3.9 metres at the Millbrook gauge, according to the Rivers Agency, after 110
millimetres of rain fell on the Carnedd Ridge. Temporary barriers along Riverside Walk were
overwhelmed within an hour.

Bethan Rees, 67, who has lived in Quarry Bank all her life, said she had never seen the river so
high. "My mother talked about the flood in 1968, but this was worse," she said.

Council leader Owen Pritchard said emergency grants of £500 would be paid to every flooded
household in Kilvern, and that the shelter at St Brynach's church hall would stay open for as long
as it was needed.
"""

BRANNAGH_CLEANUP = """
id: np-20260415-kilvern-cleanup
story: storm-brannagh
source: The Northfield Post
published: 2026-04-15T18:40:00Z
title: Kilvern clean-up begins after Storm Brannagh as missing driver is found safe
url: https://northfieldpost.example/news/np-20260415-kilvern-cleanup
section: news

The clean-up began in Kilvern on Wednesday as the River Dunn fell back within its banks, a day
after Storm Brannagh flooded hundreds of homes and left parts of the town cut off.

The driver reported missing near Pennant Bridge was found safe on Wednesday morning after spending
the night in a farm building on the far side of the Dunn, Kilvern police said.

About 340 properties were flooded when the river reached 3.9 metres at Millbrook, according to the
Rivers Agency. In Quarry Bank, residents used shovels and brooms to clear thick mud from kitchens
and living rooms.

Owen Pritchard, the leader of Kilvern County Council, said temporary flood barriers installed last
year had "bought people time" but were never designed for a storm of this size. He said the council
would ask the Rivers Agency to fast-track permanent defences for Kilvern.

Residents of the two care homes evacuated on Tuesday were being looked after at a hotel in the
neighbouring town of Llanfor. The primary school in Lower Kilvern will remain closed for at least a
week.

Farmers on the Carnedd Ridge said dozens of sheep had been lost in the floodwater, and several hill
roads above Kilvern were blocked by landslips.
"""

BRANNAGH_WARNINGS = """
id: mc-20260416-kilvern-warnings
story: storm-brannagh
source: Midland Courier
published: 2026-04-16
title: Kilvern residents say flood warning came too late
url: https://midlandcourier.example/mc-20260416-kilvern-warnings

Residents of Kilvern have accused the Rivers Agency of issuing its flood warning too late, saying
many had less than an hour to move belongings upstairs before the River Dunn broke through
temporary barriers.

The agency's severe flood warning for Lower Kilvern was sent at 10.42am on Tuesday. By 11.30am,
water was flowing down Riverside Walk and into Quarry Bank, where most of the 340 flooded
properties are.

"We got the text message when the water was already at the end of the street," said Huw Jenkins, a
retired postman. "Another hour and I could have saved my furniture."

The Rivers Agency said rainfall on the Carnedd Ridge during Storm Brannagh had been far heavier
than forecast, and that the Dunn had risen faster than at any time since 1968. It said it would
review the timing of its warnings.

Kilvern County Council leader Owen Pritchard said he would raise the complaints with the agency's
chief executive. Insurers said claims from Kilvern were likely to exceed £15 million.
"""

# -------------------------------------------------------------------------------------------------
# Singletons: one article each, unrelated to everything else (the library fire has no sidecar).

OBSERVATORY = """
id: harbour_gazette/observatory_reopens.txt
story: single-observatory
source: Harbour Gazette
published: 2026-03-20T08:00:00+00:00
title: Ravensholt Observatory reopens its Victorian telescope after restoration
url: https://harbourgazette.example/news/2026/03/20/observatory_reopens

The great refracting telescope at Ravensholt Observatory will welcome its first public visitors in
six years this weekend, after a £3.4 million restoration of the Victorian dome that houses it.

The telescope was built in 1889 by the instrument maker Josiah Fairbrother. Its 28-inch lens was
removed and crated in 2020 when engineers found that the iron frame of the dome was badly corroded.

Volunteers from the Ravensholt Astronomical Society spent more than 9,000 hours cleaning and
repairing the brass mounting and the clockwork drive, which still turns the telescope to follow the
stars across the sky.

"When we saw Saturn through it for the first time again, a few people had tears in their eyes,"
said the society's chair, Imogen Blake. "It is like hearing an old friend speak."

Evening viewing sessions will run on Fridays and Saturdays through the spring, weather permitting.
Tickets cost £8 for adults, and children under 16 go free. Daytime tours of the dome and the
observatory's collection of star charts begin in May.
"""

BAKERY = """
id: np-20260322-crumb-collapse
story: single-bakery
source: The Northfield Post
published: 2026-03-22T12:30:00Z
title: Bakery chain Crumb & Co collapses with loss of 280 jobs
url: https://northfieldpost.example/business/np-20260322-crumb-collapse
section: business

The bakery chain Crumb & Co has collapsed into administration, closing all 14 of its shops with the
loss of 280 jobs.

Administrators from the accountancy firm Pellow Grant said the family-owned business, founded in
1962, had been hit by soaring flour and energy costs and by falling footfall on high streets.

Staff at the chain's bakery in Thornbury were told on Saturday morning that they would not be paid
for March. Many had worked there for more than twenty years.

"We baked the bread for the morning, and then they called us into the canteen and told us it was
over," said Dennis Harlow, who has been a baker with the firm for 26 years.

Managing director Fiona Crumb said the family was "heartbroken". Pellow Grant said it would try to
find buyers for the brand and its recipes, including the pork pie that won a national award in
2019.
"""

TRAMWAY = """
id: lt-20260402-tramway
story: single-tramway
source: Lakeside Times
published: 2026-04-02T19:00:00+01:00
title: Lakeside tramway extension to Orchard Park opens to passengers
url: https://lakesidetimes.example/lt-20260402-tramway

The first passenger trams ran on the new £96 million extension of the Lakeside tramway on Thursday,
linking the city centre with the Orchard Park estate and the university's science campus.

The 4.2-mile line has six new stops, and trams will run every eight minutes during the day. The
journey from Orchard Park to Central Square takes 17 minutes, about half the time taken by bus.

Hundreds of people queued at the Orchard Park terminus for the first departure at 6.15am. Nadia
Brook, chair of the Lakeside Transport Executive, said the line would carry four million passengers
a year within five years.

Construction began in 2022, and the line opened four months late after problems with a new bridge
over the railway at Fernside.

Fares on the extension are the same as on the rest of the tram network, with a single adult ticket
costing £2.20 and a day pass £5.

Some shopkeepers on Orchard Road said two years of roadworks had driven customers away and called
for compensation from the transport executive.
"""

MARATHON = """
id: mc-20260405-marathon
story: single-marathon
source: Midland Courier
published: 2026-04-05
title: Carvalho smashes course record at Midland Marathon
url: https://midlandcourier.example/mc-20260405-marathon

Portuguese runner Inês Carvalho broke the women's course record at the Midland Marathon on Sunday,
finishing in 2 hours 24 minutes and 10 seconds.

Carvalho, 29, pulled away from the leading group at the 30-kilometre mark and finished more than
two minutes ahead of Kenya's Joyce Wambui, with last year's winner, Anna Lindgren, third.

The men's race was won by local favourite Sam Okonkwo in 2:11:48, the first home winner in fifteen
years. He said the crowds lining the last stretch beside the cathedral had "carried me home".

Organisers said a record 16,500 runners took part and more than £2 million was raised for charity.
Temperatures stayed around 14C, close to ideal for distance running.

The wheelchair races were won by Daniel Fraser and Amira Haddad, both in personal best times. Road
closures around the finish on Cathedral Green were lifted by four o'clock in the afternoon.

Carvalho, who only took up running in her twenties, said she would now focus on qualifying for the
world championships in the summer.
"""

LIBRARY_FIRE = """
id: lakeside_times/library_fire.txt
story: single-library

Firefighters spent most of Sunday night tackling a blaze at Greystone Library, the listed building
that has housed the town's public library since 1906.

Eight fire engines were sent to the scene. The fire is thought to have started in the roof space
above the reading room shortly after 9pm, and nobody was in the building at the time.

Staff and volunteers formed a chain to carry boxes of rare books and parish records out of the
basement archive once firefighters had made the ground floor safe. Most of the local history
collection, including maps dating back to the 1700s, was saved.

"We lost the reading room and the children's library, but the archive survived, and that is
something to hold on to," said head librarian Margaret Oduya.

The library will remain closed for the foreseeable future. Greystone Town Council said it would set
up a temporary lending service in the community centre on Albion Street.
"""

# -------------------------------------------------------------------------------------------------
# The corpus.

ORIGINALS = (
    STRIKE_DAY1,
    STRIKE_SUPPLY,
    STRIKE_WIRE,
    STRIKE_TALKS,
    STRIKE_ENDS,
    ILSE_TOWN,
    ILSE_WIRE,
    ILSE_DEFENCES,
    ILSE_CLAIMS,
    MERGER_WIRE,
    MERGER_JOBS,
    MERGER_SHARES,
    MERGER_REVIEW,
    TRANSFER_WIRE,
    TRANSFER_FANS,
    TRANSFER_UNVEIL,
    TRANSFER_DEBUT,
    ELECTION_RESULT,
    ELECTION_ANALYSIS,
    ELECTION_COUNT,
    ELECTION_REACTION,
    VACCINE_WIRE,
    VACCINE_APPROVED,
    VACCINE_SHARES,
    VACCINE_ROLLOUT,
    BRANNAGH_WIRE,
    BRANNAGH_HOMES,
    BRANNAGH_CLEANUP,
    BRANNAGH_WARNINGS,
    OBSERVATORY,
    BAKERY,
    TRAMWAY,
    MARATHON,
    LIBRARY_FIRE,
)


# The Harbour Gazette runs the wire merger story with paragraphs 3 and 4, and 5 and 6, swapped.
MERGER_REPRINT_ORDER = (0, 1, 3, 2, 5, 4)
# The Lakeside Times reprints the first four paragraphs of the wire flood story (~170 words).
ILSE_REPRINT_PARAGRAPHS = 4


def edited(paragraphs: tuple[str, ...], replacements: list[tuple[str, str]]) -> tuple[str, ...]:
    """Apply word-level edits, each of which must match exactly once in the whole text."""
    text = "\n".join(paragraphs)
    for old, new in replacements:
        if text.count(old) != 1:
            raise ValueError(f"edit {old!r} matches {text.count(old)} times")
        text = text.replace(old, new)
    return tuple(text.split("\n"))


def make_copies(by_id: dict[str, Doc]) -> list[Doc]:
    """Reprints of some originals by other outlets: one duplicate group per original."""
    transfer = by_id["cw-20260224-mensah"]
    vaccine = by_id["cw-20260313-respivax"]
    merger = by_id["cw-20260217-lumeris-kestrel"]
    cleanup = by_id["np-20260415-kilvern-cleanup"]
    flood = by_id["cw-20260210-storm-ilse"]
    return [
        # Exact duplicate: the Courier runs the wire transfer story word for word.
        dataclasses.replace(
            transfer,
            article_id="mc-20260224-mensah",
            source=MIDLAND,
            published="2026-02-24",
            title="Castlebury sign Mensah for club-record fee",
            url="https://midlandcourier.example/sport/mc-20260224-mensah",
            copy_of=transfer.article_id,
        ),
        # Near duplicate: the Courier adds a byline and changes a few words.
        dataclasses.replace(
            vaccine,
            article_id="mc-20260313-respivax",
            source=MIDLAND,
            published="2026-03-13",
            title="RSV vaccine for over-60s gets green light",
            url="https://midlandcourier.example/health/mc-20260313-respivax",
            paragraphs=(
                "By Tessa Morgan, Health Correspondent, with Coastal Wire reporting",
                *edited(
                    vaccine.paragraphs,
                    [
                        ("involving about 24,000 people", "involving nearly 24,000 people"),
                        ("a sore arm, tiredness", "a sore upper arm, tiredness"),
                        ("within weeks.", "in the coming weeks."),
                    ],
                ),
            ),
            copy_of=vaccine.article_id,
        ),
        # Near duplicate: the Gazette reorders paragraphs (and adds its footer, like any of its pages).
        dataclasses.replace(
            merger,
            article_id="harbour_gazette/lumeris_kestrel_deal.txt",
            source=HARBOUR,
            published="2026-02-17T14:00:00+00:00",
            title="Lumeris to buy Kestrel Data in £2.3bn deal",
            url="https://harbourgazette.example/news/2026/02/17/lumeris_kestrel_deal",
            paragraphs=tuple(merger.paragraphs[i] for i in MERGER_REPRINT_ORDER),
            copy_of=merger.article_id,
        ),
        # Near duplicate: the Lakeside archive reprints the Post's story without the Post's
        # furniture and with a few words changed.
        dataclasses.replace(
            cleanup,
            article_id="lt-20260416-kilvern-cleanup",
            source=LAKESIDE,
            published="2026-04-16T07:00:00+01:00",
            title="Kilvern starts clean-up after Storm Brannagh",
            url="https://lakesidetimes.example/news/lt-20260416-kilvern-cleanup",
            section=None,
            paragraphs=edited(
                cleanup.paragraphs,
                [
                    ("flooded hundreds of homes", "flooded more than 300 homes"),
                    ("used shovels and brooms", "used spades and brooms"),
                    ("for at least a week", "for at least seven days"),
                    ("said dozens of sheep", "said scores of sheep"),
                ],
            ),
            copy_of=cleanup.article_id,
        ),
        # Truncated reprint: the first half of the wire flood story, cut at a paragraph break.
        dataclasses.replace(
            flood,
            article_id="lakeside_times/ilse_reprint.txt",
            source=LAKESIDE,
            published="2026-02-11T06:00:00+00:00",
            title="River Wend floods hundreds of homes in Ashby",
            url="https://lakesidetimes.example/news/river-wend-floods-ashby",
            paragraphs=flood.paragraphs[:ILSE_REPRINT_PARAGRAPHS],
            copy_of=flood.article_id,
        ),
    ]


def with_furniture(doc: Doc) -> Doc:
    """Add the outlet's own lines to an article it publishes."""
    paragraphs = doc.paragraphs
    if doc.source == HARBOUR:
        paragraphs = (*paragraphs, HG_FOOTER)
    elif doc.source == NORTHFIELD:
        plug = NP_BUSINESS_READ_MORE if doc.section == "business" else NP_READ_MORE
        paragraphs = (*paragraphs[:2], plug, *paragraphs[2:], NP_FOOTER)
    return dataclasses.replace(doc, paragraphs=paragraphs)


def build_corpus() -> list[Doc]:
    """Every good article: the originals, then the copies made from them, furniture added."""
    originals = [parse_article(block) for block in ORIGINALS]
    copies = make_copies({doc.article_id: doc for doc in originals})
    return [with_furniture(doc) for doc in originals + copies]


def n_words(paragraphs: tuple[str, ...]) -> int:
    """Words in a run of paragraphs."""
    return sum(len(p.split()) for p in paragraphs)


def check_corpus(docs: list[Doc]) -> None:
    """Fail loudly if an edit broke a property the truth relies on."""
    ids = [d.article_id for d in docs]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate article ids")
    for doc in docs:
        body = tuple(p for p in doc.paragraphs if p not in FURNITURE)
        if not MIN_WORDS <= n_words(body) <= MAX_WORDS:
            raise ValueError(f"{doc.article_id}: {n_words(body)} words")
    for text, _ in SHARED_SEGMENTS:
        if sum(text in d.paragraphs for d in docs) < 2:
            raise ValueError(f"shared segment in fewer than two articles: {text!r}")


def build_truth(docs: list[Doc]) -> dict[str, Any]:
    """The expected pipeline output, read off the construction of the corpus."""
    stories: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    titles: dict[str, str] = {}
    for doc in docs:
        stories.setdefault(doc.story, []).append(doc.article_id)
        if doc.copy_of is not None:
            groups.setdefault(doc.copy_of, [doc.copy_of]).append(doc.article_id)
        heads = [p for p in doc.paragraphs if p in HEADLINES]
        if doc.title is None and heads:
            titles[doc.article_id] = heads[0]
    return {
        "articles": sorted(d.article_id for d in docs),
        "duplicate_groups": sorted(sorted(g) for g in groups.values()),
        "stories": sorted(sorted(s) for s in stories.values()),
        "shared_segments": [
            {
                "text": text,
                "role": role,
                "articles": sorted(d.article_id for d in docs if text in d.paragraphs),
            }
            for text, role in SHARED_SEGMENTS
        ],
        "quarantined": [
            {"source_file": BROKEN, "why": "malformed JSON (array cut off inside a string)"},
            {"source_file": f"{NP_JSONL}:{BAD_JSONL_LINE}", "why": "truncated JSON record on one line"},
        ],
        "titles": dict(sorted(titles.items())),
    }


def text_of(doc: Doc) -> str:
    """The article text as written: paragraphs separated by one blank line."""
    return "\n\n".join(doc.paragraphs)


def _record(doc: Doc) -> dict[str, str]:
    record = {"id": doc.article_id, "title": doc.title, "text": text_of(doc), "published": doc.published}
    record.update(source=doc.source, url=doc.url, section=doc.section)
    return {key: value for key, value in record.items() if value is not None}


def _json_line(record: dict[str, str]) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def write_corpus(docs: list[Doc], raw_dir: Path) -> None:
    """Write every file of the corpus; only the paths the generator owns are removed first."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    for name in OWNED:
        path = raw_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    rng = random.Random(SEED)
    by_container: dict[str, list[Doc]] = {}
    for doc in docs:
        by_container.setdefault(doc.container, []).append(doc)

    for doc in by_container[TXT]:
        path = raw_dir / doc.article_id
        path.parent.mkdir(parents=True, exist_ok=True)
        # Like a page saved as scraped, the reaction piece has no final newline.
        end = "" if doc.article_id.endswith("westmere_reaction.txt") else "\n"
        path.write_text(text_of(doc) + end, encoding="utf-8")
        meta = {k: v for k in ("title", "published", "source", "url") if (v := getattr(doc, k)) is not None}
        if meta:
            sidecar = path.with_suffix(".json")
            sidecar.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    lines = [_json_line(_record(d)) for d in sorted(by_container[NP_JSONL], key=lambda d: d.article_id)]
    lines.insert(BAD_JSONL_LINE - 1, BAD_JSONL_RECORD)
    (raw_dir / NP_JSONL).write_text("\n".join(lines) + "\n", encoding="utf-8")

    wire = [_record(d) for d in by_container[CW_JSON]]
    rng.shuffle(wire)
    (raw_dir / CW_JSON).write_text(json.dumps(wire, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    rows = [_record(d) for d in by_container[MC_CSV]]
    rng.shuffle(rows)
    buffer = io.StringIO()
    columns = ["id", "title", "text", "published", "source", "url"]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (raw_dir / MC_CSV).write_text(buffer.getvalue(), encoding="utf-8")

    archive = [_json_line(_record(d)) for d in by_container[LT_ARCHIVE]]
    rng.shuffle(archive)
    payload = ("\n".join(archive) + "\n").encode("utf-8")
    # No file name and mtime=0 in the gzip header: the bytes depend on the content only.
    with (
        (raw_dir / LT_ARCHIVE).open("wb") as fh,
        gzip.GzipFile(filename="", mode="wb", fileobj=fh, compresslevel=9, mtime=0) as gz,
    ):
        gz.write(payload)

    (raw_dir / BROKEN).write_text(BROKEN_JSON, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the demo corpus and its ground truth.")
    parser.add_argument("--raw-dir", type=Path, default=PROJECT / "data" / "raw")
    parser.add_argument("--truth", type=Path, default=PROJECT / "tests" / "fixtures" / "demo_truth.json")
    args = parser.parse_args(argv)
    docs = build_corpus()
    check_corpus(docs)
    write_corpus(docs, args.raw_dir)
    truth = build_truth(docs)
    args.truth.parent.mkdir(parents=True, exist_ok=True)
    args.truth.write_text(json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{len(docs)} articles written to {args.raw_dir}, truth to {args.truth}")


if __name__ == "__main__":
    main()
