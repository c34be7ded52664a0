# ruff: noqa: E501, RUF001 (a table of translations: a few lines run long; German writes an en dash)
"""What the server itself writes to customers (bot and chat system messages), in every widget language.

One table, so a new text or a new language is one edit here. Texts staff write, and the organization's own
widget texts, are never translated.
"""

from __future__ import annotations

import enum

from answerdesk.languages.names import base_code

DEFAULT_LANGUAGE = "en"
# The widget's languages: the server's texts come in the same ones.
UI_LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt")


class Text(enum.StrEnum):
    no_answer = "no_answer"
    handoff = "handoff"
    cannot_answer = "cannot_answer"  # the model failed and no passage can be quoted instead
    prompt_leak = "prompt_leak"
    extractive_label = "extractive_label"
    extractive_nothing = "extractive_nothing"
    quoted_in = "quoted_in"  # {language}: the passages' language, named in the customer's language
    quoted_in_other = "quoted_in_other"
    joined = "joined"  # {name}
    handed_back = "handed_back"
    closed = "closed"
    closed_by_customer = "closed_by_customer"
    waiting_online = "waiting_online"
    waiting_offline = "waiting_offline"
    message_received = "message_received"  # {number}


_TEXTS: dict[Text, dict[str, str]] = {
    Text.no_answer: {
        "en": "I'm sorry, I couldn't find anything about that in our help centre, and I'd rather not guess. "
        "Would you like me to connect you with a member of our team?",
        "de": "Das tut mir leid, ich habe dazu nichts in unserem Hilfe-Center gefunden, und ich möchte nicht "
        "raten. Soll ich Sie mit jemandem aus unserem Team verbinden?",
        "fr": "Désolé, je n'ai rien trouvé à ce sujet dans notre centre d'aide, et je préfère ne pas deviner. "
        "Voulez-vous que je vous mette en relation avec un membre de notre équipe ?",
        "es": "Lo siento, no he encontrado nada sobre eso en nuestro centro de ayuda y prefiero no adivinar. "
        "¿Quieres que te ponga en contacto con alguien de nuestro equipo?",
        "nl": "Sorry, ik heb daarover niets gevonden in ons helpcentrum, en ik gok liever niet. "
        "Zal ik u in contact brengen met een medewerker van ons team?",
        "it": "Mi dispiace, non ho trovato nulla al riguardo nel nostro centro assistenza e preferisco non "
        "tirare a indovinare. Vuoi che ti metta in contatto con un membro del nostro team?",
        "pt": "Desculpe, não encontrei nada sobre isso na nossa central de ajuda e prefiro não adivinhar. "
        "Quer que eu o coloque em contato com alguém da nossa equipe?",
    },
    Text.handoff: {
        "en": "Of course. I'll ask a member of our team to join this conversation; they will reply here.",
        "de": "Gern. Ich bitte jemanden aus unserem Team, diesem Gespräch beizutreten; die Antwort kommt hier.",
        "fr": "Bien sûr. Je demande à un membre de notre équipe de rejoindre cette conversation ; "
        "la réponse arrivera ici.",
        "es": "Por supuesto. Pediré a alguien de nuestro equipo que se una a esta conversación; "
        "te responderá aquí.",
        "nl": "Natuurlijk. Ik vraag een medewerker van ons team om aan dit gesprek deel te nemen; "
        "u krijgt hier antwoord.",
        "it": "Certo. Chiedo a un membro del nostro team di unirsi a questa conversazione; ti risponderà qui.",
        "pt": "Claro. Vou pedir a alguém da nossa equipe que entre nesta conversa; a resposta chegará aqui.",
    },
    Text.cannot_answer: {
        "en": "I'm sorry, I can't answer right now. Would you like me to connect you with a member of our team?",
        "de": "Das tut mir leid, ich kann gerade nicht antworten. Soll ich Sie mit jemandem aus unserem Team "
        "verbinden?",
        "fr": "Désolé, je ne peux pas répondre pour le moment. Voulez-vous que je vous mette en relation avec "
        "un membre de notre équipe ?",
        "es": "Lo siento, ahora mismo no puedo responder. ¿Quieres que te ponga en contacto con alguien de "
        "nuestro equipo?",
        "nl": "Sorry, ik kan nu geen antwoord geven. Zal ik u in contact brengen met een medewerker van ons team?",
        "it": "Mi dispiace, al momento non posso rispondere. Vuoi che ti metta in contatto con un membro del "
        "nostro team?",
        "pt": "Desculpe, não consigo responder agora. Quer que eu o coloque em contato com alguém da nossa "
        "equipe?",
    },
    Text.prompt_leak: {
        "en": "Sorry, I can't help with that. I'm happy to answer questions about our services, "
        "or to connect you with a member of our team.",
        "de": "Dabei kann ich leider nicht helfen. Gern beantworte ich Fragen zu unseren Leistungen oder "
        "verbinde Sie mit jemandem aus unserem Team.",
        "fr": "Désolé, je ne peux pas vous aider sur ce point. Je réponds volontiers à vos questions sur nos "
        "services, ou je peux vous mettre en relation avec un membre de notre équipe.",
        "es": "Lo siento, no puedo ayudarte con eso. Con gusto respondo preguntas sobre nuestros servicios "
        "o te pongo en contacto con alguien de nuestro equipo.",
        "nl": "Daar kan ik helaas niet mee helpen. Ik beantwoord graag vragen over onze diensten, of breng u "
        "in contact met een medewerker van ons team.",
        "it": "Mi dispiace, non posso aiutarti in questo. Rispondo volentieri a domande sui nostri servizi, "
        "oppure posso metterti in contatto con un membro del nostro team.",
        "pt": "Desculpe, não posso ajudar com isso. Respondo com prazer a perguntas sobre os nossos serviços "
        "ou coloco você em contato com alguém da nossa equipe.",
    },
    Text.extractive_label: {
        "en": "I can't write a full answer right now, but here is what our help centre says:",
        "de": "Ich kann gerade keine vollständige Antwort schreiben, aber das steht in unserem Hilfe-Center:",
        "fr": "Je ne peux pas rédiger de réponse complète pour le moment, mais voici ce que dit notre centre "
        "d'aide :",
        "es": "Ahora mismo no puedo escribir una respuesta completa, pero esto es lo que dice nuestro centro "
        "de ayuda:",
        "nl": "Ik kan nu geen volledig antwoord schrijven, maar dit staat er in ons helpcentrum:",
        "it": "Al momento non posso scrivere una risposta completa, ma ecco cosa dice il nostro centro "
        "assistenza:",
        "pt": "Não consigo escrever uma resposta completa agora, mas veja o que diz a nossa central de ajuda:",
    },
    Text.extractive_nothing: {
        "en": "I can't write a full answer right now, and I found nothing about this in our help centre. "
        "A member of our team can help you.",
        "de": "Ich kann gerade keine vollständige Antwort schreiben, und in unserem Hilfe-Center habe ich dazu "
        "nichts gefunden. Jemand aus unserem Team kann Ihnen helfen.",
        "fr": "Je ne peux pas rédiger de réponse complète pour le moment, et je n'ai rien trouvé à ce sujet "
        "dans notre centre d'aide. Un membre de notre équipe peut vous aider.",
        "es": "Ahora mismo no puedo escribir una respuesta completa y no he encontrado nada sobre esto en "
        "nuestro centro de ayuda. Alguien de nuestro equipo puede ayudarte.",
        "nl": "Ik kan nu geen volledig antwoord schrijven, en ik heb hierover niets gevonden in ons "
        "helpcentrum. Een medewerker van ons team kan u helpen.",
        "it": "Al momento non posso scrivere una risposta completa e non ho trovato nulla al riguardo nel "
        "nostro centro assistenza. Un membro del nostro team può aiutarti.",
        "pt": "Não consigo escrever uma resposta completa agora e não encontrei nada sobre isso na nossa "
        "central de ajuda. Alguém da nossa equipe pode ajudar.",
    },
    Text.quoted_in: {
        "en": "The help quoted below is in {language}.",
        "de": "Die unten zitierte Hilfe ist auf {language}.",
        "fr": "L'aide citée ci-dessous est en {language}.",
        "es": "La ayuda citada a continuación está en {language}.",
        "nl": "De hulp die hieronder wordt geciteerd, is in het {language}.",
        "it": "La guida citata qui sotto è in {language}.",
        "pt": "A ajuda citada abaixo está em {language}.",
    },
    Text.quoted_in_other: {
        "en": "The help quoted below is in another language.",
        "de": "Die unten zitierte Hilfe ist in einer anderen Sprache.",
        "fr": "L'aide citée ci-dessous est dans une autre langue.",
        "es": "La ayuda citada a continuación está en otro idioma.",
        "nl": "De hulp die hieronder wordt geciteerd, is in een andere taal.",
        "it": "La guida citata qui sotto è in un'altra lingua.",
        "pt": "A ajuda citada abaixo está em outro idioma.",
    },
    Text.joined: {
        "en": "{name} joined the chat",
        "de": "{name} ist dem Chat beigetreten",
        "fr": "{name} a rejoint le chat",
        "es": "{name} se ha unido al chat",
        "nl": "{name} neemt deel aan de chat",
        "it": "{name} partecipa alla chat",
        "pt": "{name} entrou no chat",
    },
    Text.handed_back: {
        "en": "You're chatting with our assistant again.",
        "de": "Sie chatten wieder mit unserem Assistenten.",
        "fr": "Vous discutez de nouveau avec notre assistant.",
        "es": "Vuelves a hablar con nuestro asistente.",
        "nl": "U chat weer met onze assistent.",
        "it": "Stai di nuovo parlando con il nostro assistente.",
        "pt": "Você está conversando novamente com o nosso assistente.",
    },
    Text.closed: {
        "en": "This conversation has been closed.",
        "de": "Dieses Gespräch wurde beendet.",
        "fr": "Cette conversation a été fermée.",
        "es": "Esta conversación se ha cerrado.",
        "nl": "Dit gesprek is gesloten.",
        "it": "Questa conversazione è stata chiusa.",
        "pt": "Esta conversa foi encerrada.",
    },
    Text.closed_by_customer: {
        "en": "The customer ended the chat.",
        "de": "Der Kunde hat den Chat beendet.",
        "fr": "Le client a mis fin au chat.",
        "es": "El cliente ha finalizado el chat.",
        "nl": "De klant heeft de chat beëindigd.",
        "it": "Il cliente ha chiuso la chat.",
        "pt": "O cliente encerrou o chat.",
    },
    Text.waiting_online: {
        "en": "A member of our team will join shortly.",
        "de": "Gleich ist jemand aus unserem Team für Sie da.",
        "fr": "Un membre de notre équipe va vous rejoindre dans un instant.",
        "es": "Un miembro de nuestro equipo se unirá en breve.",
        "nl": "Een medewerker van ons team komt zo bij u.",
        "it": "Un membro del nostro team arriverà a breve.",
        "pt": "Um membro da nossa equipe vai entrar em breve.",
    },
    Text.waiting_offline: {
        "en": "Nobody from our team is online right now. Leave a message here with how we can reach you, "
        "and we will get back to you as soon as we can.",
        "de": "Gerade ist niemand aus unserem Team online. Hinterlassen Sie hier eine Nachricht und wie wir "
        "Sie erreichen können; wir melden uns so bald wie möglich.",
        "fr": "Personne de notre équipe n'est en ligne pour le moment. Laissez-nous ici un message et le moyen "
        "de vous joindre : nous vous répondrons dès que possible.",
        "es": "Ahora mismo no hay nadie de nuestro equipo conectado. Déjanos aquí un mensaje y cómo "
        "contactarte, y te responderemos lo antes posible.",
        "nl": "Er is op dit moment niemand van ons team online. Laat hier een bericht achter met hoe we u "
        "kunnen bereiken; we nemen zo snel mogelijk contact met u op.",
        "it": "Al momento nessuno del nostro team è online. Lasciaci qui un messaggio e un recapito: ti "
        "risponderemo il prima possibile.",
        "pt": "Ninguém da nossa equipe está online agora. Deixe aqui uma mensagem com um contato, e "
        "responderemos assim que possível.",
    },
    Text.message_received: {
        "en": "Thanks — we've received your message and will reply by e-mail (ticket #{number})",
        "de": "Danke – wir haben Ihre Nachricht erhalten und antworten per E-Mail (Ticket #{number})",
        "fr": "Merci — nous avons bien reçu votre message et vous répondrons par e-mail (ticket #{number})",
        "es": "Gracias: hemos recibido tu mensaje y te responderemos por correo electrónico "
        "(ticket #{number})",
        "nl": "Bedankt — we hebben uw bericht ontvangen en antwoorden per e-mail (ticket #{number})",
        "it": "Grazie — abbiamo ricevuto il tuo messaggio e ti risponderemo via e-mail (ticket #{number})",
        "pt": "Obrigado — recebemos a sua mensagem e responderemos por e-mail (ticket #{number})",
    },
}

# The widget languages' names in each widget language, for "the help quoted below is in German".
_NAMES_IN: dict[str, dict[str, str]] = {
    "en": {"en": "English", "de": "German", "fr": "French", "es": "Spanish", "nl": "Dutch", "it": "Italian",
           "pt": "Portuguese"},
    "de": {"en": "Englisch", "de": "Deutsch", "fr": "Französisch", "es": "Spanisch", "nl": "Niederländisch",
           "it": "Italienisch", "pt": "Portugiesisch"},
    "fr": {"en": "anglais", "de": "allemand", "fr": "français", "es": "espagnol", "nl": "néerlandais",
           "it": "italien", "pt": "portugais"},
    "es": {"en": "inglés", "de": "alemán", "fr": "francés", "es": "español", "nl": "neerlandés",
           "it": "italiano", "pt": "portugués"},
    "nl": {"en": "Engels", "de": "Duits", "fr": "Frans", "es": "Spaans", "nl": "Nederlands", "it": "Italiaans",
           "pt": "Portugees"},
    "it": {"en": "inglese", "de": "tedesco", "fr": "francese", "es": "spagnolo", "nl": "olandese",
           "it": "italiano", "pt": "portoghese"},
    "pt": {"en": "inglês", "de": "alemão", "fr": "francês", "es": "espanhol", "nl": "neerlandês",
           "it": "italiano", "pt": "português"},
}  # fmt: skip


def ui_language(language: str | None) -> str:
    """The widget language closest to ``language`` ("pt-BR" -> "pt"); English for anything else."""
    code = base_code(language or "")
    return code if code in UI_LANGUAGES else DEFAULT_LANGUAGE


def say(key: Text, language: str | None, /, **fields: str) -> str:
    """The text in the customer's language (English when we have no translation), fields filled in."""
    text = _TEXTS[key][ui_language(language)]
    return text.format(**fields) if fields else text


def quoted_in(passages_language: str, customer_language: str | None) -> str:
    """The sentence "The help quoted below is in <language>.", the language named in the customer's language."""
    names = _NAMES_IN[ui_language(customer_language)]
    name = names.get(base_code(passages_language))
    if name is None:
        return say(Text.quoted_in_other, customer_language)
    return say(Text.quoted_in, customer_language, language=name)


def english(key: Text) -> str:
    return _TEXTS[key][DEFAULT_LANGUAGE]
