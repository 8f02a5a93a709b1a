"""Word classes per language, for the structural rules in ``_detect``.

Each entry is not a list of asking phrases but a small closed class of words that mark one
grammatical role: who is addressed (second person), who acts (the writer, first person),
a condition on the reader's wish, a verb of responding in the imperative with the writer as
recipient, a need for the reader's data, waiting on the reader. ``_detect`` decides from the
combination of roles and the sentence's place in the answer whether it asks the reader.

Everything is compiled once at import; a language's patterns are used together with the
English ones (models switch to English for boilerplate).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

__all__ = ["LEXICONS", "Lexicon"]

_I = re.IGNORECASE


@dataclass(frozen=True)
class Lexicon:
    """Compiled word classes for one language (``None``: the class does not apply)."""

    # The reader is referred to (second person pronoun, possessive or verb form).
    reader: re.Pattern[str]
    # A question about the writer's next action ("would you like me to", "shall I"): only
    # the writer can be meant, so it asks wherever it stands.
    offer_question: re.Pattern[str]
    # A condition on the reader's wish or need ("if you'd like", "si quieres", "如需要").
    wish: re.Pattern[str]
    # The writer offering future work ("I can", "je peux", "ich kann", "我可以").
    offer: re.Pattern[str]
    # A plain offer of help that needs no condition ("happy to", "con gusto", "gerne").
    eager: re.Pattern[str]
    # An imperative to respond, with the writer as recipient ("let me know", "dime").
    respond: re.Pattern[str]
    # A polite imperative asking for a decision or data ("please confirm", "请提供").
    please: re.Pattern[str]
    # The writer needs something from the reader, or asks whether the reader can give it.
    need: re.Pattern[str]
    # Waiting for the reader's approval or reply before acting.
    wait: re.Pattern[str]
    # A request phrased as a question ("could you clarify", "könnten Sie"): asks when the
    # sentence is a question (the same words open plain statements in some languages).
    ask_question: re.Pattern[str]
    # A question that politely asks the reader in languages without pronouns (Japanese
    # "…ますか？", Chinese "…吗？" with 我/你/您): used on unanswered closing questions.
    polite_question: re.Pattern[str] | None = None
    # The writer offering something done for or to the reader ("I can walk you through"):
    # an offer even without a condition, in the closing part.
    offer_to_reader: re.Pattern[str] | None = None

    @cached_property
    def prefilter(self) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
        """Patterns for every class that asks wherever it stands, to find the sentences worth
        checking with one search over all the prose instead of six searches per sentence.

        Speed matters here (the guard's budget is 1 ms): the first pattern is run over the
        lowercased text without IGNORECASE and without the leading word-boundary checks,
        which makes Python's ``re`` several times faster; it matches a superset, and every
        hit is confirmed by the exact class patterns. Case-sensitive classes (German
        "Sie") get the second pattern, run over the text as it is.
        """
        parts = (self.offer_question, self.respond, self.need, self.ask_question, self.wait,
                 self.wish)  # fmt: skip
        folded = [_loose(p.pattern) for p in parts if p.flags & re.IGNORECASE]
        cased = [p.pattern for p in parts if not p.flags & re.IGNORECASE]
        return (
            re.compile("|".join(folded), re.MULTILINE),
            re.compile("|".join(cased), re.MULTILINE) if cased else None,
        )


def _loose(pattern: str) -> str:
    """``pattern`` for lowercased text: literal capitals lowered (escapes such as ``\\S``
    kept), word-boundary checks at the start of groups dropped."""
    pattern = re.sub(r"(?<!\\)[A-ZÀ-ÖØ-Þ]", lambda m: m.group(0).lower(), pattern)
    return pattern.replace("(?:\\b", "(?:")


def _c(*parts: str, flags: int = _I) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in parts), flags)


_EN = Lexicon(
    reader=_c(r"\b(you|your|yours|yourself|yourselves)\b"),
    offer_question=_c(
        r"\b(would|do) you (like|want) me to\b",
        r"\bwant me to\b",
        r"\b(shall|may) (i|we)\b",
        r"\bhow (else )?can i help\b",
        r"\bis there anything else\b",
        r"\b(any|anything) (else|other|further|more) (questions?|i can)\b",
    ),
    wish=_c(
        r"\bif (you|u)('d| would| wish| want| like| prefer| need)\b",
        r"\bif (you|u)('re| are) (interested|keen|curious|open to|up for)\b",
        r"\bshould you (wish|want|need|prefer)\b",
        r"\bif (that|this|it)('s| is| would be| would| helps| sounds)\b",
        r"\bif (needed|useful|helpful|desired|required|wanted|necessary)\b",
    ),
    # Any verb: the offer is recognised by the first person and the modal, and asks only
    # together with a condition on the reader's wish (or an eager "happy to").
    offer=_c(
        r"\b(i|we)('d| would| could| can| will|'ll| am going to|'m going to) "
        r"(also |happily |gladly |then |now |quickly |be happy to |be glad to )?\w+",
    ),
    eager=_c(
        r"\b(happy|glad|delighted|more than happy) to (help|assist|walk|go|dig|turn|"
        r"expand|add|make|prepare|draft|answer|explain|put)\b",
        r"\b(i'm|i am) here (to help|if you need)\b",
        r"\b(i'm|i am|i remain) (available|at your disposal)\b",
        r"\b(i'm|i am) (always )?(here|around)[.!]?$",
        r"\b(i|we) (can|could) also\b",
        r"\bnext,? (i|we) (can|could)\b",
    ),
    respond=_c(
        r"\blet (me|us) know\b",
        r"\b(tell|show|send|give|ping|message|email|remind|update) (me|us)\b",
        # An imperative (sentence-initial verb) with the writer as its object: "Drop me a
        # line", "Shoot us a message". "Let me ..." is the writer's own hortative.
        r"^(just |simply |please |kindly |do )?"
        r"(?!(let|trust|excuse|pardon|believe|forgive)\b)[a-z]+ me\b(?! to\b)",
        r"^(just |simply |please )?(reply|respond|answer)\b",
        r"\b(get back to me|write back|answer me)\b",
        r"\bsay the word\b",
        r"\bfeel free to (ask|reach|contact|let|tell|ping|request|follow|get|share|send|"
        r"come back|drop)\b",
        r"\bdon'?t hesitate to\b",
        r"\bkeep me posted\b",
        r"^let'?s (discuss|talk|schedule|chat|set up a call|connect|go over|sync)\b",
    ),
    please=_c(
        r"\b(please|kindly|just) (confirm|clarify|specify|provide|share|send|advise|"
        r"indicate|tell|let|decide|review and)\b",
        # "please select the components you need" is an instruction; choosing among the
        # writer's own options is a request.
        r"\b(please|kindly|just) (choose|pick|select) (one|which|between|whether|either|"
        r"an option|from (the|these) options)\b",
        r"^\s*(pick|choose|select|decide) (one|which|between|whether|from)\b",
    ),
    need=_c(
        r"\b(i|we)('ll| will| would)? (still |first |also )?(need|require)s? (to know\b|your\b|"
        r"you to\b|from you\b|((more|some|additional|further|a few|a bit of|the following) )?"
        r"(information|details|context|clarification|input|answers|specifics)\b)",
        r"\bi have (a |some |several |a couple of |a few |two |three |\d+ )?(quick |more )?"
        r"questions\b",
        r"\bbefore i (can )?(start|begin|proceed|continue|go ahead)\b.*[:?]\s*$",
        r"\bit would help (me )?to know\b",
        r"\b(i|we)('ll| will| would| still)? (need|require)\b.*\bfrom you\b",
    ),
    wait=_c(
        r"\b(await(ing)?|waiting for|wait for|wait on) (your|you)\b",
        r"\buntil (i hear|you (confirm|approve|decide|reply|say|give|let|tell|sign|ok))",
        r"\b(once|after|as soon as|when) you('ve| have)? (confirm|approve|decide|reply|choose|"
        r"pick|give|let|tell|send|share|provide|sign|say|ok|okay|are ready|'re ready)"
        r".*\b(i|we)('ll| will| can)\b",
        r"\b(i|we)('ll| will| can)\b.*\b(once|after|as soon as|when) you('ve| have)? "
        r"(confirm|approve|decide|reply|choose|pick|give|let|tell|send|share|provide|sign|say)",
        r"\byour (go-ahead|green light|approval|sign-off|ok|okay|confirmation)\b",
        r"\bon your (go|word|signal|say)\b",
        r"\blooking forward to (your|hearing)\b",
        r"\b(once|when|as soon as|after) i (have|get|receive|hear|know)\b",
    ),
    ask_question=_c(
        r"\b(could|can|would|will) you (please )?(clarify|specify|confirm|provide|share|tell|"
        r"let|send|give|explain|indicate|elaborate|check|advise|describe|say|point)\b",
    ),
    offer_to_reader=_c(
        r"\b(i|we)('d| would| could| can| will|'ll)( also| gladly| happily| be happy to| be glad"
        r" to)? (help|walk|send|show|guide|assist|give|get|take) you\b",
        r"\b(i|we)('d| would| could| can| will|'ll) .*\bfor you\b",
    ),
)

_ES = Lexicon(
    reader=_c(
        r"\b(tú|usted|ustedes|vosotros|te|ti|tu|tus|contigo|quieres|prefieres|necesitas|"
        r"deseas|desea|prefiere|puedes|podrías|tienes|gustaría|te parece|le parece)\b"
    ),
    offer_question=_c(
        r"\b(quieres|quiere|desea|deseas|prefieres|prefiere|te gustaría|le gustaría) que\b",
        r"¿\s*(seguimos|continuamos|procedemos|avanzamos|empezamos|lo hacemos)\b",
        r"¿\s*(te |le |lo |la |los |las )?(procedo|continúo|sigo|envío|preparo|hago|"
        r"empiezo|agrego|añado|genero|paso|avanzo|ejecuto)\b",
    ),
    wish=_c(
        r"\bsi (lo |te |le )?(quieres|deseas|desea|prefieres|prefiere|necesitas|necesita|"
        r"sirve|interesa|parece bien|hace falta|es útil|ayuda)\b",
        r"\ben caso de que (lo )?(quieras|desees|necesites)\b",
        r"\bsi (así )?lo (deseas|desea|prefieres)\b",
    ),
    offer=_c(
        r"\b(puedo|podría|podríamos|puedo también|también puedo|te puedo|le puedo|"
        r"con gusto|encantad[oa] de)\b",
    ),
    eager=_c(
        r"\b(con (mucho )?gusto|encantad[oa] de (ayudar|hacer|preparar))\b",
        r"\b(quedo|estoy|sigo) a (tu|su|vuestra) (entera )?disposición\b",
        r"\b(también puedo|puedo también|podría también|también podría)\b",
    ),
    respond=_c(
        r"\b(dime|díme|avísame|indícame|confírmame|escríbeme|mándame|envíame|cuéntame|"
        r"comunícame|pásame|dígame|avíseme|indíqueme|confírmeme|escríbame|hazme saber|"
        r"házmelo saber|déjame saber|hágame saber)\b",
        r"\bno (dudes|dude) en\b",
        r"^(responde|responda|contesta|conteste|contéstame)\b",
    ),
    please=_c(r"\bpor favor,? (confirma|indica|especifica|aclara|envía|comparte|elige)\b"),
    need=_c(
        r"\bnecesit(o|aría|amos) (tu|tus|su|sus|que me|que nos|saber|más|algunos|algunas|"
        r"los|las|el|la|conocer)\b",
        r"\bme (falta|faltan|haría falta)\b",
        r"\btengo (algunas |unas |varias |un par de |dos |tres )?preguntas\b",
    ),
    wait=_c(
        r"\b(espero|quedo a la espera de|a la espera de|aguardo) (tu|su)\b",
        r"\bquedo atent[oa] a (tu|su|tus|sus)\b",
        r"\b(cuando|en cuanto|una vez que) me \w+(es|as)\b",
        r"\b(cuando|en cuanto|una vez que) (me )?(confirmes|confirme|apruebes|apruebe|"
        r"decidas|decida|respondas|responda|digas|diga)\b",
        r"\b(tu|su) (aprobación|confirmación|visto bueno|autorización)\b",
    ),
    ask_question=_c(
        r"\b(puedes|podrías|podría|puede|pueden) (indicarme|decirme|aclarar|confirmar|"
        r"enviarme|compartir|proporcionar|precisar|especificar|explicar)\b",
    ),
)

_FR = Lexicon(
    reader=_c(r"\b(vous|votre|vos|tu|te|toi|ton|ta|tes)\b|\bt['’]"),
    offer_question=_c(
        r"\b(voulez|souhaitez|désirez|veux|souhaites|préférez)[- ](vous|tu) que je\b",
        r"\b(dois|puis)[- ]je\b",
        r"\bfaut[- ]il que je\b",
        r"\bje (continue|poursuis|lance|procède|passe)\s*\?",
        r"\bon (continue|y va|passe à la suite|poursuit)\b.*\?",
    ),
    wish=_c(
        r"\bsi (vous|tu) (le )?(souhaitez|voulez|préférez|désirez|le souhaitez|veux|"
        r"souhaites|en avez besoin|avez besoin)\b",
        r"\bsi (cela|ça|c['’]est) (vous |t['’])?(aide|est utile|intéresse|convient|utile)\b",
        r"\b(si besoin|au besoin|si nécessaire|le cas échéant)\b",
    ),
    offer=_c(
        r"\bje (peux|pourrais|pourrai|serais|serai|me ferai|vous propose|suis prêt)\b",
        r"\bje \w+rai\b",
        r"\bj['’]\w+rai\b",
    ),
    eager=_c(
        r"\b(avec plaisir|je me ferai un plaisir|volontiers)\b",
        r"\b(je reste|je suis|je demeure) à (votre|ta) (entière )?disposition\b",
        r"\bje (peux|pourrais) (aussi|également)\b",
    ),
    respond=_c(
        r"\b(dites|dis|faites|fais|indiquez|envoyez|tenez|précisez)[- ](moi|nous)\b",
        r"\bn['’]hésitez pas\b|\bn['’]hésite pas\b",
        r"^(répondez|réponds)\b",
        r"\bfaites[- ]moi savoir\b",
    ),
    please=_c(
        r"\bmerci de (me |nous )?(confirmer|préciser|indiquer|fournir|transmettre|choisir)\b",
        r"\b(veuillez|pouvez-vous) (confirmer|préciser|indiquer|fournir|me)\b",
    ),
    need=_c(
        r"\bj['’]ai besoin (de votre|de vos|de ton|de tes|de connaître|de savoir|"
        r"d['’]informations|de précisions|de quelques)\b",
        r"\bil me (faudrait|faut|manque)\b",
        r"\bj['’]ai (quelques |plusieurs |deux |trois )?questions\b",
    ),
    wait=_c(
        r"\b(j['’]attends|en attente de|dans l['’]attente de) (votre|ton|ta|vos)\b",
        r"\b(dès que|une fois que|lorsque|quand) (vous|tu) (aurez|auras|me|m['’]|"
        r"confirmez|validez|approuvez)\b",
        r"\b(votre|ton|ta) (accord|validation|feu vert|confirmation|approbation)\b",
    ),
    ask_question=_c(r"\b(pourriez|pouvez|pourrais|peux)-(vous|tu)\b"),
)

# German second person is case-sensitive: "Sie/Ihnen/Ihr" (polite) versus "sie/ihr" (they).
_DE_READER = re.compile(
    r"(?<![.!?:]\s)(?<!^)\bSie\b|\b(Ihnen|Ihr|Ihre|Ihrem|Ihren|Ihrer|Ihres)\b|"
    r"\b([Dd]u|[Dd]ich|[Dd]ir|[Dd]ein|[Dd]eine|[Dd]einen|[Dd]einem|[Dd]einer|[Ee]uch|[Ee]uer)\b",
    re.MULTILINE,
)
_DE = Lexicon(
    reader=_DE_READER,
    offer_question=_c(
        r"\b(soll|sollen|darf|dürfen) (ich|wir)\b",
        r"\b(möchten|wollen|willst|möchtest) (Sie|du),? dass ich\b",
    ),
    wish=_c(
        r"\b(wenn|falls) (Sie|du) (es )?(möchten|möchtest|wollen|willst|wünschen|"
        r"brauchen|brauchst|mögen|Interesse)\b",
        r"\b(falls|wenn) (gewünscht|nötig|erwünscht|hilfreich|sinnvoll)\b",
        r"\bbei (Bedarf|Interesse)\b",
    ),
    offer=_c(
        r"\b(ich|wir) (kann|können|könnte|könnten|würde|werde|erstelle|mache|helfe)\b",
        r"\b(kann|könnte|werde|würde) ich\b",
        r"\berstelle ich\b",
    ),
    eager=_c(
        r"\b(gerne|gern) (helfe|erstelle|mache|ergänze|übernehme)\b",
        r"\bhelfe (ich )?(Ihnen|dir) gerne\b",
        r"\bstehe (ich )?(Ihnen|dir|euch) (gerne |gern |jederzeit )*zur Verfügung\b",
        r"\b(kann|könnte) ich (auch|außerdem|zusätzlich)\b",
        r"\bich (kann|könnte) (auch|außerdem)\b",
    ),
    respond=_c(
        r"\b(lassen Sie|lass) (mich|uns) wissen\b",
        r"\b(sagen|geben|teilen|schreiben|schicken|senden|melden) Sie (mir|uns|Bescheid|sich)\b",
        r"\b(sag|gib|teil|schreib|schick|meld) (mir|uns|Bescheid|dich)\b",
        r"^(antworten Sie|antworte)\b",
        r"\b(sagen|geben|gib|sag) (Sie )?(mir |uns )?(einfach |kurz )?Bescheid\b",
    ),
    please=_c(
        r"\bbitte (bestätigen|nennen|geben|teilen|wählen|senden) Sie\b",
        r"\b(bestätigen|nennen|teilen) Sie (mir )?bitte\b",
        flags=0,
    ),
    need=_c(
        r"\b(ich|wir) (brauche|brauchen|benötige|benötigen) (noch )?(Ihr|Ihre|dein|deine|mehr|"
        r"weitere|einige|folgende)\b",
        r"\b(brauche|benötige) ich (noch )?(Ihr|Ihre|dein|deine|mehr|weitere)\b",
        r"\bich habe (noch )?(ein paar |einige |zwei |drei )?Fragen\b",
    ),
    wait=_c(
        r"\b(warte|warten) (ich |wir )?(auf|noch auf) (Ihre|deine|Ihr|dein)\b",
        r"\bsobald (Sie|du)\b",
        r"\b(Ihre|deine) (Freigabe|Zustimmung|Bestätigung|Rückmeldung|Antwort)\b",
    ),
    ask_question=_c(r"\b(könnten|können|würden) Sie\b", r"\b(kannst|könntest) du\b", flags=0),
)

_PT = Lexicon(
    reader=_c(
        r"\b(você|vocês|voce|te|ti|tu|contigo|o senhor|a senhora|quer|prefere|deseja|"
        r"precisa|gostaria)\b"
    ),
    offer_question=_c(
        r"\b(quer|deseja|prefere|gostaria) que eu\b",
        r"\bvamos (seguir|continuar|prosseguir|começar)\b.*\?",
        r"\b(posso|devo) (prosseguir|continuar|seguir|enviar|começar|avançar|fazer|publicar|"
        r"aplicar|executar|excluir|apagar)\b",
    ),
    wish=_c(
        r"\bse (você )?(quiser|desejar|preferir|precisar|achar útil|for útil|ajudar)\b",
        r"\bcaso (você )?(queira|deseje|prefira|precise)\b",
        r"\bse (for|fizer) (necessário|sentido)\b",
    ),
    offer=_c(
        r"\b(posso|poderia|eu poderia|também posso|fico feliz em|terei prazer em)\b", r"\b\w+rei\b"
    ),
    eager=_c(
        r"\b(fico (feliz|à disposição)|com prazer|estou à disposição)\b",
        r"\b(também posso|posso também|poderia também)\b",
    ),
    respond=_c(
        r"\bme (avise|diga|informe|envie|mande|fale|conte|passe|responda)\b",
        r"\b(avise|diga|informe|envie|mande|conte)-me\b",
        r"\b(fique|fica) à vontade\b",
        r"\bé só (me )?(chamar|falar|avisar|pedir|mandar)\b",
        r"^(responda|responde)\b",
        r"\bnão (hesite|hesites)\b",
    ),
    please=_c(r"\bpor favor,? (confirme|informe|envie|indique|escolha|especifique)\b"),
    need=_c(
        r"\bpreciso (do seu|da sua|dos seus|das suas|de seu|de sua|saber|de mais|que você|"
        r"que me|de algumas|de alguns|do|da)\b",
        r"\btenho (algumas |umas |duas |três )?perguntas\b",
    ),
    wait=_c(
        r"\b(aguardo|fico no aguardo d[aeo]|espero) (a |o )?(sua|seu|tua|teu)\b",
        r"\b(assim que|quando|depois que|logo que) (você )?me \w+r\b",
        r"\b(assim que|quando|depois que) (você )?(confirmar|aprovar|decidir|responder)\b",
        r"\b(sua|seu) (aprovação|confirmação|autorização|ok)\b",
    ),
    ask_question=_c(
        r"\b(poderia|pode|podes|poderias) (esclarecer|informar|confirmar|enviar|dizer|me|"
        r"especificar|indicar|explicar)\b",
    ),
)

_ZH = Lexicon(
    reader=_c(r"(您|你)"),
    offer_question=_c(
        r"(要|需要|要不要|是否需要|想让|希望)我(?!们)",
        r"我(是否)?(应该|要不要)",
        r"我们(继续|开始|接着)[^。！]*[吗呢][？?]",
    ),
    wish=_c(
        r"(如果|若|假如|要是)(您|你)?(需要|希望|想|愿意|有需要|感兴趣)",
        r"(需要|有需要)的话",
        r"(如有|如需|若需|若有)(需要|要求)?",
    ),
    offer=_c(r"我(还|也)?(可以|能|会|将|再|来|就)"),
    eager=_c(r"(乐意|很高兴)(为您|帮您|帮你|协助)", r"我(还|也)可以"),
    respond=_c(
        r"(告诉|告知|通知|联系)我",
        r"让我知道",
        r"请(您)?(告知|回复|确认|告诉)",
        r"随时(告诉|问|联系|找|提问)",
        r"^回复",
    ),
    please=_c(r"请(您)?(提供|说明|明确)", r"请问"),
    need=_c(
        r"(我|还)需要(您|你)", r"需要(您|你)(提供|告诉|确认|说明)", r"我有(几个|一些|两个)?问题"
    ),
    wait=_c(
        r"(确认|批准|同意|答复|回复)(之|以)?后我",
        r"等(待)?(您|你)的",
        r"(您|你)(确认|同意|批准)后",
        r"期待(您|你)的(回复|反馈|答复|消息)",
        r"(您|你)\S{0,10}(后|之后)，?我(就|再|会)",
    ),
    ask_question=_c(r"(您|你)(能否|可否|能不能|可以)"),
    polite_question=_c(r"[吗呢么][？?]\s*$"),
)

_JA = Lexicon(
    # No pronouns in polite Japanese: honorific prefixes on the reader's things and acts
    # (ご希望, お客様, なさる) mark the reader.
    reader=_c(r"(あなた|お客様|ご希望|ご要望|ご指定|なさい|ご都合|ご意向|お好み|貴社)"),
    offer_question=_c(
        r"(ましょうか|よろしいでしょうか|"
        r"よろしいですか|いかがでしょうか|いかがですか)"
    ),
    wish=_c(
        r"(ご希望|ご要望|必要|ご入用)(が|で)?(あれば|ありましたら|でしたら|であれば|の場合)",
        r"よろしければ",
        r"ご興味があれば",
    ),
    offer=_c(r"(いたします|致します|できます|作成します|お作りします|させていただきます)"),
    eager=_c(r"(喜んで|お手伝いいたします)"),
    respond=_c(
        r"(お知らせ|ご連絡|お申し付け|お問い合わせ|ご指示|ご返信|ご回答|お聞かせ)"
        r"(ください|下さい|いただけ)",
        r"教えて(ください|下さい|いただけ)",
        r"お気軽に",
    ),
    please=_c(r"(ご選択|ご指定|ご提供)(ください|下さい)"),
    need=_c(
        r"(教えて|お知らせ|ご提供)いただく必要",
        r"(お客様|ご|お)\S{0,12}が必要です",
        r"(いくつか|何点か|確認したい)(質問|点)が(あります|ございます)",
    ),
    wait=_c(
        r"(ご承認|ご確認|ご返信|ご連絡|お返事)(いただければ|いただけ次第|をお待ち|次第)",
        r"(お送り|ご送付|ご提供|お知らせ|ご連絡|ご返信|ご承認|ご確認|ご共有)"
        r"いただ(けれ|き次第|け次第)",
    ),
    ask_question=_c(r"(いただけますか|いただけませんか|くださいますか)"),
    polite_question=_c(r"(ますか|ですか|でしょうか|ませんか)[？?]\s*$"),
)

LEXICONS: dict[str, Lexicon] = {
    "en": _EN, "es": _ES, "fr": _FR, "de": _DE, "pt": _PT, "zh": _ZH, "ja": _JA,
}  # fmt: skip

# Compile the prefilters now, with the rest of the patterns, so that the first answer checked
# does not pay for it.
for _lexicon in LEXICONS.values():
    _ = _lexicon.prefilter
